#include "mts/ingest/extraction_cache.h"

#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <xxhash.h>

namespace mts::ingest {

ExtractionCache::ExtractionCache(const std::filesystem::path& dir) : m_dir(dir) {
    if (dir.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        m_error = fmt::format("cache folder {} cannot be created: {}", dir.string(), ec.message());
        return;
    }
    m_enabled = true;
}

std::filesystem::path ExtractionCache::entryPath(const std::string& key) const {
    return m_dir / fmt::format("{:016x}.json", XXH3_64bits(key.data(), key.size()));
}

std::optional<std::vector<CachedDocument>> ExtractionCache::lookup(const std::string& key, uint64_t size,
                                                                   int64_t mtime, uint64_t contentHash) const {
    if (!m_enabled) return std::nullopt;
    std::ifstream in(entryPath(key), std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    if (j.value("path", std::string()) != key || j.value("size", uint64_t(0)) != size ||
        j.value("mtime", int64_t(0)) != mtime || j.value("hash", uint64_t(0)) != contentHash)
        return std::nullopt;
    std::vector<CachedDocument> docs;
    if (!j.contains("docs") || !j["docs"].is_array()) return std::nullopt;
    for (const auto& d : j["docs"]) {
        if (!d.is_object() || !d.contains("text") || !d["text"].is_string()) return std::nullopt;
        docs.push_back({d["text"].get<std::string>(), d.value("meta", nlohmann::json::object())});
    }
    return docs;
}

bool ExtractionCache::store(const std::string& key, uint64_t size, int64_t mtime, uint64_t contentHash,
                            const std::vector<CachedDocument>& docs) const {
    if (!m_enabled) return false;
    nlohmann::json j = {{"path", key}, {"size", size}, {"mtime", mtime}, {"hash", contentHash}};
    j["docs"] = nlohmann::json::array();
    for (const auto& d : docs) j["docs"].push_back({{"text", d.text}, {"meta", d.meta}});
    std::filesystem::path final = entryPath(key);
    std::filesystem::path tmp = final;
    tmp += fmt::format(".tmp{}", std::hash<std::thread::id>()(std::this_thread::get_id()));
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return false;
        out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        if (!out) return false;
    }
    std::error_code ec;
    std::filesystem::rename(tmp, final, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        return false;
    }
    return true;
}

}  // namespace mts::ingest
