// write_directory_atomically() and recover_directory_writes(): a directory is replaced whole or not at
// all, and what a process killed halfway left behind is put back or removed.
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

#include "checkpoints/atomic_file.h"
#include "test_util.h"

namespace lmc {
namespace {

namespace fs = std::filesystem;
using testing::listing;
using testing::read_file;
using testing::write_file;

TEST(AtomicDirectory, ReplacesAWholeDirectoryAndLeavesNothingElse) {
  testing::TempDir tmp;
  fs::create_directories(tmp / "best");
  write_file(tmp / "best" / "old.txt", "old");
  write_directory_atomically(tmp / "best", [](const fs::path& dir) { write_file(dir / "new.txt", "new"); });
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{"best"});
  EXPECT_EQ(listing(tmp / "best"), std::vector<std::string>{"new.txt"});
  EXPECT_EQ(read_file(tmp / "best" / "new.txt"), "new");
}

TEST(AtomicDirectory, AFailedFillLeavesTheOriginal) {
  testing::TempDir tmp;
  fs::create_directories(tmp / "best");
  write_file(tmp / "best" / "weights", "precious");
  EXPECT_THROW(write_directory_atomically(tmp / "best",
                                          [](const fs::path& dir) {
                                            write_file(dir / "half", "x");
                                            throw std::runtime_error("disk full");
                                          }),
               std::runtime_error);
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{"best"});
  EXPECT_EQ(read_file(tmp / "best" / "weights"), "precious");
}

// The states a kill leaves at each moment of a replacement of best/, as recover_directory_writes() finds them.
TEST(AtomicDirectory, RecoveryPutsBackAnOriginalWhoseReplacementNeverLanded) {
  testing::TempDir tmp;
  // Killed after best/ was moved aside, before the new one was renamed in.
  fs::create_directories(tmp / ".best.old.tmp-00abcd" / "best");
  write_file(tmp / ".best.old.tmp-00abcd" / "best" / "weights", "precious");
  fs::create_directories(tmp / ".best.tmp-00beef");
  write_file(tmp / ".best.tmp-00beef" / "weights", "complete but never renamed");
  // Killed while a step checkpoint was being filled.
  fs::create_directories(tmp / ".step_90.tmp-001234");
  fs::create_directories(tmp / "step_60");
  recover_directory_writes(tmp.path());
  EXPECT_EQ(listing(tmp.path()), (std::vector<std::string>{"best", "step_60"}));
  EXPECT_EQ(read_file(tmp / "best" / "weights"), "precious");
}

TEST(AtomicDirectory, RecoveryDropsAnOriginalOnceItsReplacementIsIn) {
  testing::TempDir tmp;
  // Killed after the new best/ was renamed in, before the moved-aside one was deleted.
  fs::create_directories(tmp / ".best.old.tmp-00abcd" / "best");
  write_file(tmp / ".best.old.tmp-00abcd" / "best" / "weights", "older");
  fs::create_directories(tmp / "best");
  write_file(tmp / "best" / "weights", "newer");
  recover_directory_writes(tmp.path());
  EXPECT_EQ(listing(tmp.path()), std::vector<std::string>{"best"});
  EXPECT_EQ(read_file(tmp / "best" / "weights"), "newer");
}

}  // namespace
}  // namespace lmc
