// `mamba-studio-cli tokenize --tokenizer PATH [--decode]` (PATH: a tokenizer, or a model, checkpoint or
// run folder as for generate and export): UTF-8 text on stdin -> token ids
// comma-separated on one line; with --decode, comma-separated ids on stdin -> text.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "command.h"
#include "int_list.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"

namespace mts::cli {
namespace {

struct TokenizeOptions {
    std::string tokenizer;
    bool decode = false;
};

std::string readStdin() {
    std::ios::sync_with_stdio(false);
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
}

std::vector<int32_t> parseIds(const std::string& text, int64_t vocab) {
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) return {};
    const auto v = parseIntList(text, "--decode", 0, vocab - 1,
                                fmt::format("a token id of this vocabulary (0..{})", vocab - 1));
    return std::vector<int32_t>(v.begin(), v.end());
}

int runTokenize(const TokenizeOptions& o) {
    const std::unique_ptr<Tokenizer> tok = o.tokenizer == "byte" ? makeByteTokenizer() : loadModelTokenizer(o.tokenizer);
    const std::string input = readStdin();
    if (o.decode) {
        const std::string text = tok->decode(parseIds(input, tok->vocabSize()));
        std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
        const auto ids = tok->encode(input);
        std::string line;
        line.reserve(ids.size() * 6);
        for (size_t k = 0; k < ids.size(); ++k) {
            if (k) line += ',';
            line += std::to_string(ids[k]);
        }
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stdout);
    }
    return std::fflush(stdout) == 0 ? 0 : 1;
}

void addTokenize(CLI::App& app, Runner& run) {
    auto* sub = app.add_subcommand("tokenize", "Encode stdin to comma-separated token ids (or --decode them)");
    auto o = std::make_shared<TokenizeOptions>();
    sub->add_option("--tokenizer", o->tokenizer,
                    "tokenizer.json, a folder with tokenizer.json or vocab.json + merges.txt, a model, "
                    "checkpoint or run folder (its model's tokenizer), or 'byte'")
        ->required();
    sub->add_flag("--decode", o->decode, "Read comma-separated ids and print the text");
    sub->callback([&run, o] { run = [o] { return runTokenize(*o); }; });
}

}  // namespace
MTS_CLI_COMMAND(addTokenize);
}  // namespace mts::cli
