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

}  // namespace lmc::testing
