// lmc: lossless compression with language models. This file only dispatches: each subcommand lives in
// apps/cmd_<name>.cpp. Library errors surface here and become one line on stderr and exit status 1;
// a command line lmc cannot parse becomes one line and exit status 2, as with other Unix tools.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <string>

#include "apps/commands.h"

#ifndef LMC_VERSION
#error "LMC_VERSION must be defined by the build"
#endif

int main(int argc, char** argv) {
  CLI::App app{"lmc: lossless compression with language models", "lmc"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "lmc " LMC_VERSION);
  lmc::apps::register_info_command(app);
  lmc::apps::register_eval_command(app);
  lmc::apps::register_codec_commands(app);
  lmc::apps::register_tokenize_command(app);
  lmc::apps::register_tokenizer_command(app);
  lmc::apps::register_train_command(app);
  lmc::apps::register_prepare_command(app);
  lmc::apps::register_export_command(app);
  lmc::apps::register_convert_command(app);
  lmc::apps::register_generate_command(app);
  auto report = [&app](const std::string& what) {
    // One line: LibTorch appends a C++ backtrace to its messages, which is for debuggers, not users.
    const std::string message = what.substr(0, what.find('\n'));
    std::string command = app.get_subcommands().empty() ? "" : " " + app.get_subcommands().front()->get_name();
    std::cerr << "lmc" << command << ": error: " << message << "\n";
  };
  // CLI11 takes an unknown first word for a missing subcommand: name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    const auto named = app.get_subcommands([&](const CLI::App* command) { return command->get_name() == argv[1]; });
    if (named.empty()) {
      report("unknown command '" + std::string(argv[1]) + "' (see lmc --help)");
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help, --version
    report(std::string(e.what()) + " (see lmc --help)");
    return 2;
  } catch (const std::exception& e) {
    report(e.what());
    return 1;
  }
  return 0;
}
