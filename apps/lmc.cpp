// lmc: lossless compression with language models. This file only dispatches: each subcommand lives in
// apps/cmd_<name>.cpp. Library errors surface here and become one line on stderr and exit status 1.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "apps/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"lmc: lossless compression with language models", "lmc"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "lmc 0.1.0");
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    // One line: LibTorch appends a C++ backtrace to its messages, which is for debuggers, not users.
    std::string message = e.what();
    message = message.substr(0, message.find('\n'));
    std::string command = app.get_subcommands().empty() ? "" : " " + app.get_subcommands().front()->get_name();
    std::cerr << "lmc" << command << ": error: " << message << "\n";
    return 1;
  }
  return 0;
}
