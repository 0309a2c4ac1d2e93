// Every subcommand of `lmc` registers itself on the top-level CLI11 app; apps/lmc.cpp calls these.
#pragma once

namespace CLI {
class App;
}

namespace lmc::apps {

void register_info_command(CLI::App& app);
void register_eval_command(CLI::App& app);
void register_codec_commands(CLI::App& app);  // compress, decompress
void register_tokenize_command(CLI::App& app);
void register_tokenizer_command(CLI::App& app);  // tokenizer train
void register_train_command(CLI::App& app);
void register_prepare_command(CLI::App& app);
void register_export_command(CLI::App& app);
void register_convert_command(CLI::App& app);  // convert llama2c
void register_generate_command(CLI::App& app);

}  // namespace lmc::apps
