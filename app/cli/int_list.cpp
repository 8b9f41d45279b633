#include "int_list.h"

#include <fmt/format.h>

#include "mts/core/runtime/errors.h"

namespace mts::cli {

std::vector<long long> parseIntList(const std::string& text, const std::string& option, long long lo,
                                    long long hi, const std::string& what) {
    static const char* kSpace = " \t\r\n";
    std::vector<long long> out;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        if (comma == std::string::npos) comma = text.size();
        std::string item = text.substr(pos, comma - pos);
        const size_t first = item.find_first_not_of(kSpace);
        item = first == std::string::npos ? "" : item.substr(first, item.find_last_not_of(kSpace) - first + 1);
        size_t used = 0;
        long long value = 0;
        try {
            value = std::stoll(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (item.empty() || used != item.size() || value < lo || value > hi)
            throw ConfigError(fmt::format("{}: '{}' is not {}", option, item, what));
        out.push_back(value);
        pos = comma + 1;
    }
    return out;
}

}  // namespace mts::cli
