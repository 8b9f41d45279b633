// The house plan, checked mechanically: core is rooms (core/src/<room>, core/include/mts/core/<room>),
// each room's README.md says which other rooms it may include ("May include: a, b."), and no
// file of core includes a room its README does not allow, nor Qt, ingest, poppler or libgit2.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "shared_data.h"
#include "test_files.h"

using mts::test::readFile;

namespace fs = std::filesystem;

namespace {

std::vector<std::string> roomNames(const fs::path& srcDir) {
    std::vector<std::string> rooms;
    for (const auto& e : fs::directory_iterator(srcDir))
        if (e.is_directory()) rooms.push_back(e.path().filename().string());
    std::sort(rooms.begin(), rooms.end());
    return rooms;
}

// "May include: runtime, kernels." -> {runtime, kernels}; "every other room" -> all.
std::set<std::string> allowedRooms(const fs::path& readme, const std::vector<std::string>& rooms) {
    const std::string text = readFile(readme);
    const auto at = text.find("May include:");
    if (at == std::string::npos) return {"<no 'May include:' line>"};
    const std::string line = text.substr(at, text.find('\n', at) - at);
    std::set<std::string> allowed;
    if (line.find("every other room") != std::string::npos) return {rooms.begin(), rooms.end()};
    for (const auto& r : rooms) {
        const std::regex word("\\b" + r + "\\b");
        if (std::regex_search(line, word)) allowed.insert(r);
    }
    return allowed;
}

}  // namespace

TEST(Layering, EveryCoreFileSitsInARoomWithAReadme) {
    const fs::path src = mts::test::sourceDir() / "core" / "src";
    const fs::path inc = mts::test::sourceDir() / "core" / "include" / "mts" / "core";
    const auto rooms = roomNames(src);
    ASSERT_GE(rooms.size(), 8u);
    for (const auto& r : rooms) EXPECT_TRUE(fs::is_regular_file(src / r / "README.md")) << "room " << r << " has no README.md";
    for (const auto& e : fs::directory_iterator(src)) EXPECT_TRUE(e.is_directory()) << e.path() << " lies outside every room";
    for (const auto& e : fs::directory_iterator(inc)) {
        EXPECT_TRUE(e.is_directory()) << e.path() << " lies outside every room";
        if (e.is_directory()) {
            EXPECT_TRUE(fs::is_directory(src / e.path().filename())) << e.path() << " has no room in core/src";
        }
    }
}

TEST(Layering, RoomsIncludeOnlyWhatTheirReadmeAllows) {
    const fs::path core = mts::test::sourceDir() / "core";
    const auto rooms = roomNames(core / "src");
    std::map<std::string, std::set<std::string>> allowed;
    for (const auto& r : rooms) allowed[r] = allowedRooms(core / "src" / r / "README.md", rooms);
    const std::regex include(R"re(#\s*include\s*[<"]([^>"]+)[>"])re");
    const std::regex roomInclude(R"re(^(?:mts/core/)?([a-z_]+)/)re");
    const std::regex foreign(R"re(^(Q[A-Za-z]+|qcustomplot.*|mts/ingest/.*|mts/ui/.*|poppler/.*|git2.*)$)re");
    int checked = 0;
    for (const fs::path& base : {core / "src", core / "include" / "mts" / "core"}) {
        for (const auto& e : fs::recursive_directory_iterator(base)) {
            const auto ext = e.path().extension();
            if (!e.is_regular_file() || (ext != ".h" && ext != ".cpp" && ext != ".cu" && ext != ".cuh")) continue;
            const std::string room = fs::relative(e.path(), base).begin()->string();
            const std::string text = readFile(e.path());
            for (std::sregex_iterator it(text.begin(), text.end(), include), end; it != end; ++it) {
                const std::string target = (*it)[1];
                ++checked;
                EXPECT_FALSE(std::regex_match(target, foreign)) << e.path() << " includes " << target;
                std::smatch m;
                if (!std::regex_search(target, m, roomInclude)) continue;
                const std::string to = m[1];
                if (to == room || !allowed.count(to)) continue;
                EXPECT_TRUE(allowed[room].count(to))
                    << e.path() << " (room " << room << ") includes " << target << ", but core/src/" << room
                    << "/README.md does not allow room " << to;
            }
        }
    }
    EXPECT_GT(checked, 200);
}
