#include "cli_round_trip.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "test_util.h"

namespace lmc::testing {
namespace fs = std::filesystem;
using nlohmann::json;

std::string model_flag() { return " --model " + (golden_dir("cli_models") / "bytes_model").string() + " "; }

json round_trip_once(const std::string& bytes, const std::string& extra, const std::string& model) {
  TempDir tmp;
  write_file(tmp / "in", bytes);
  // One thread unless asked: the model is tiny, and threads only add synchronisation to its small ops.
  const std::string threads = extra.find("--threads") == std::string::npos ? " --threads 1 " : " ";
  auto c = run_lmc("compress -k --json" + model + threads + extra + " -o " + (tmp / "in.lmc").string() + " " +
                   (tmp / "in").string());
  EXPECT_EQ(c.exit_code, 0) << c.err;
  if (c.exit_code != 0) return {};
  auto d = run_lmc("decompress -k" + model + " -o " + (tmp / "out").string() + " " + (tmp / "in.lmc").string());
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(read_file(tmp / "out") == bytes) << "round trip differs for " << bytes.size() << " bytes";
  json stats = json::parse(c.out);
  EXPECT_EQ(stats["bytes_out"], fs::file_size(tmp / "in.lmc"));
  EXPECT_EQ(stats["bytes_in"], bytes.size());
  return stats;
}

json round_trip(const std::string& bytes, const std::string& extra, const std::string& model) {
  {
    SCOPED_TRACE("--no-store");
    json coded = round_trip_once(bytes, extra + " --no-store", model);
    if (!coded.is_null()) {
      EXPECT_EQ(coded["stored_chunks"], 0);
    }
  }
  return round_trip_once(bytes, extra, model);
}

void write_wav(const fs::path& path, int bits, int channels, int frames, int loud_frames, int stored_bits) {
  const std::string script =
      "import math, random, struct, sys, wave\n"
      "bits, ch, n, loud = " + std::to_string(bits) + ", " + std::to_string(channels) + ", " + std::to_string(frames) +
      ", " + std::to_string(loud_frames) + "\n"
      "stored = " + std::to_string(stored_bits ? stored_bits : bits) + "\n"
      "random.seed(bits * 10 + ch)\n"
      "w = wave.open(sys.argv[1], 'wb'); w.setnchannels(ch); w.setsampwidth(stored // 8); w.setframerate(16000)\n"
      "peak = (1 << (bits - 1)) - 1\n"
      "out = bytearray()\n"
      "for i in range(n):\n"
      "    for c in range(ch):\n"
      "        v = int(peak * 0.5 * math.sin(i * 0.05 * (c + 1))) + random.randint(-50, 50)\n"
      "        if i < loud: v = random.randint(-peak - 1, peak)\n"
      "        v <<= stored - bits\n"
      "        if stored == 8: out += bytes([(v >> 0) + 128 & 255])\n"
      "        else: out += (v & ((1 << stored) - 1)).to_bytes(stored // 8, 'little')\n"
      "w.writeframes(bytes(out)); w.close()\n";
  write_file(path.string() + ".py", script);
  auto r = run_command(setting("LMC_PYTHON") + " " + path.string() + ".py " + path.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace lmc::testing
