// Safetensors reader/writer: round trips for every dtype and one malformed file per check.
#include <cstring>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/formats/safetensors.h"
#include "mts/core/runtime/errors.h"
#include "shared_data.h"

namespace {

using mts::FormatError;
using mts::test::TempDir;

std::string le64(uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}

// A file from a header text and a data buffer, exactly as given (no validation).
std::string rawFile(const std::string& header, const std::string& data) {
    return le64(header.size()) + header + data;
}

void writeBytes(const std::filesystem::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Expects both the file reader and the in-memory parser to reject `bytes` with a FormatError
// whose message names the file and contains `needle`.
void expectBadFile(const std::string& bytes, const std::string& needle) {
    TempDir dir;
    auto p = dir / "bad.safetensors";
    writeBytes(p, bytes);
    try {
        mts::readSafetensors(p);
        ADD_FAILURE() << "file accepted, expected error containing: " << needle;
    } catch (const FormatError& e) {
        EXPECT_EQ(e.file(), p.string());
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    try {
        mts::parseSafetensors(bytes.data(), bytes.size(), "mem");
        ADD_FAILURE() << "bytes accepted, expected error containing: " << needle;
    } catch (const FormatError& e) {
        EXPECT_EQ(e.file(), "mem");
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

const std::string kEightBytes(8, '\x01');

}  // namespace

TEST(Safetensors, RoundTripsEveryDtype) {
    TempDir dir;
    torch::manual_seed(1);
    std::map<std::string, torch::Tensor> in{
        {"f64", torch::randn({3, 2}, torch::kFloat64)},
        {"f32", torch::randn({4, 5})},
        {"f16", torch::randn({7}).to(torch::kFloat16)},
        {"bf16", torch::randn({2, 3, 2}).to(torch::kBFloat16)},
        {"i64", torch::randint(-1000, 1000, {5}, torch::kInt64)},
        {"i32", torch::randint(-1000, 1000, {5}, torch::kInt32)},
        {"i16", torch::randint(-1000, 1000, {3}, torch::kInt16)},
        {"i8", torch::randint(-100, 100, {3}, torch::kInt8)},
        {"u8", torch::randint(0, 255, {9}, torch::kUInt8)},
        {"bool", torch::rand({6}) > 0.5},
        {"scalar", torch::tensor(3.5f).reshape({})},
        {"empty", torch::zeros({0, 4})},
        // Non-contiguous input must be written in logical order.
        {"transposed", torch::arange(12, torch::kFloat32).reshape({3, 4}).t()},
    };
    auto p = dir / "all.safetensors";
    mts::writeSafetensors(p, in, {{"format", "pt"}, {"note", "x"}});
    auto out = mts::readSafetensors(p);
    ASSERT_EQ(out.tensors.size(), in.size());
    for (const auto& [name, t] : in) {
        ASSERT_TRUE(out.tensors.count(name)) << name;
        const auto& r = out.tensors.at(name);
        EXPECT_EQ(r.scalar_type(), t.scalar_type()) << name;
        EXPECT_EQ(r.sizes(), t.sizes()) << name;
        EXPECT_TRUE(torch::equal(r, t.contiguous())) << name;
    }
    EXPECT_EQ(out.metadata.at("format"), "pt");
    EXPECT_EQ(out.metadata.at("note"), "x");

    auto header = mts::readSafetensorsHeader(p);
    EXPECT_EQ(header.at("bf16").dtype, "BF16");
    EXPECT_EQ(header.at("bf16").shape, (std::vector<int64_t>{2, 3, 2}));
    // Writing leaves no temporary file behind.
    int files = 0;
    for (auto& e : std::filesystem::directory_iterator(dir.path())) { (void)e; ++files; }
    EXPECT_EQ(files, 1);
}

TEST(Safetensors, DataStartsAligned) {
    TempDir dir;
    auto p = dir / "a.safetensors";
    mts::writeSafetensors(p, {{"x", torch::ones({3})}});
    std::ifstream in(p, std::ios::binary);
    unsigned char b[8];
    in.read(reinterpret_cast<char*>(b), 8);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | b[i];
    EXPECT_EQ(n % 8, 0u);
    EXPECT_EQ(std::filesystem::file_size(p), 8 + n + 12);
}

TEST(Safetensors, ReadsTheSharedFixture) {
    MTS_REQUIRE_SHARED(p, "fixtures/mamba-tiny-hf/model.safetensors");
    auto f = mts::readSafetensors(p);
    ASSERT_TRUE(f.tensors.count("backbone.embeddings.weight"));
    EXPECT_EQ(f.tensors.at("backbone.embeddings.weight").sizes(), (std::vector<int64_t>{256, 64}));
    EXPECT_EQ(f.tensors.at("backbone.layers.0.mixer.conv1d.weight").sizes(), (std::vector<int64_t>{128, 1, 4}));
}

TEST(Safetensors, AcceptsAHandWrittenValidFile) {
    // The parser accepts what the rejections below vary from.
    std::string h = R"({"a":{"dtype":"U8","shape":[2,2],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}})";
    std::string bytes = rawFile(h, std::string("\x01\x02\x03\x04\x05\x00\x00\x00", 8));
    auto f = mts::parseSafetensors(bytes.data(), bytes.size(), "mem");
    EXPECT_EQ(f.tensors.at("a")[1][1].item<int>(), 4);
    EXPECT_EQ(f.tensors.at("b")[0].item<int>(), 5);
}

TEST(Safetensors, RejectsMissingFile) {
    TempDir dir;
    EXPECT_THROW(mts::readSafetensors(dir / "nope.safetensors"), FormatError);
    EXPECT_THROW(mts::readSafetensors(dir.path()), FormatError);
}

TEST(Safetensors, RejectsShorterThanLengthField) {
    expectBadFile("", "truncated");
    expectBadFile(std::string("\x10\x00\x00", 3), "truncated");
}

TEST(Safetensors, RejectsHeaderLengthBeyondFile) {
    expectBadFile(le64(1000) + "{}", "beyond the end of the file");
    expectBadFile(le64(~0ull) + "{}", "beyond the end of the file");
}

TEST(Safetensors, RejectsTruncatedData) {
    std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    expectBadFile(rawFile(h, std::string(5, '\0')), "beyond the data buffer");
}

TEST(Safetensors, RejectsInvalidJson) {
    expectBadFile(rawFile("{\"a\": ", ""), "not valid JSON");
    expectBadFile(rawFile("[1,2]", ""), "not a JSON object");
    expectBadFile(rawFile(std::string("{\"a\xff\":1}"), ""), "not valid JSON");
}

TEST(Safetensors, RejectsUnknownDtype) {
    std::string h = R"({"a":{"dtype":"F8_E9","shape":[2],"data_offsets":[0,2]}})";
    expectBadFile(rawFile(h, "xx"), "unknown dtype 'F8_E9'");
}

TEST(Safetensors, RejectsShapeOffsetMismatch) {
    std::string h = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
    expectBadFile(rawFile(h, kEightBytes), "need 12 bytes but data_offsets span 8");
}

TEST(Safetensors, RejectsBadShapeOrOffsetsTypes) {
    expectBadFile(rawFile(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,8]}})", kEightBytes), "non-negative");
    expectBadFile(rawFile(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0]}})", kEightBytes), "data_offsets must be");
    expectBadFile(rawFile(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8.5]}})", kEightBytes), "non-negative integers");
    expectBadFile(rawFile(R"({"a":{"dtype":"U8","shape":"8","data_offsets":[0,8]}})", kEightBytes), "shape");
    expectBadFile(rawFile(R"({"a":{"shape":[8],"data_offsets":[0,8]}})", kEightBytes), "dtype");
    expectBadFile(rawFile(R"({"a":[1]})", kEightBytes), "not an object");
    expectBadFile(rawFile(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[8,0]}})", kEightBytes), "begin 8 > end 0");
    expectBadFile(rawFile(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8],"x":1}})", kEightBytes), "unknown field");
}

TEST(Safetensors, RejectsHugeShapes) {
    expectBadFile(rawFile(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", kEightBytes),
                   "too large");
    expectBadFile(rawFile(R"({"a":{"dtype":"U8","shape":[0,4611686018427387904,4611686018427387904],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", kEightBytes),
                   "too large");
}

TEST(Safetensors, RejectsOutOfRangeOffsets) {
    std::string h = R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}})";
    expectBadFile(rawFile(h, kEightBytes), "beyond the data buffer");
}

TEST(Safetensors, RejectsOverlappingOffsets) {
    std::string h = R"({"a":{"dtype":"U8","shape":[6],"data_offsets":[0,6]},"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})";
    expectBadFile(rawFile(h, kEightBytes), "overlap");
    std::string same = R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})";
    expectBadFile(rawFile(same, kEightBytes), "overlap");
}

TEST(Safetensors, RejectsUncoveredData) {
    std::string gap = R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})";
    expectBadFile(rawFile(gap, kEightBytes), "not covered");
    std::string tail = R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})";
    expectBadFile(rawFile(tail, kEightBytes), "not covered");
}

TEST(Safetensors, RejectsDuplicateNames) {
    std::string h = R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})";
    expectBadFile(rawFile(h, kEightBytes), "duplicate tensor name 'a'");
}

TEST(Safetensors, RejectsBadMetadata) {
    expectBadFile(rawFile(R"({"__metadata__":{"k":1}})", ""), "not a string");
    expectBadFile(rawFile(R"({"__metadata__":[]})", ""), "__metadata__ is not an object");
}

TEST(Safetensors, RejectsInvalidBoolValues) {
    std::string h = R"({"a":{"dtype":"BOOL","shape":[8],"data_offsets":[0,8]}})";
    expectBadFile(rawFile(h, std::string("\x00\x01\x00\x02\x00\x00\x00\x00", 8)), "BOOL value 2");
}

TEST(Safetensors, TruncatingAValidFileAnywhereIsRejected) {
    TempDir dir;
    auto p = dir / "ok.safetensors";
    mts::writeSafetensors(p, {{"w", torch::randn({4, 3})}, {"b", torch::randn({3})}});
    std::ifstream in(p, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (size_t cut = 0; cut < bytes.size(); ++cut)
        EXPECT_THROW(mts::parseSafetensors(bytes.data(), cut, "mem"), FormatError) << "cut at " << cut;
    EXPECT_NO_THROW(mts::parseSafetensors(bytes.data(), bytes.size(), "mem"));
}

TEST(Safetensors, WriterRejectsUnsupportedDtypeAndLeavesNoFile) {
    TempDir dir;
    auto p = dir / "c.safetensors";
    EXPECT_THROW(mts::writeSafetensors(p, {{"c", torch::zeros({2}, torch::kComplexFloat)}}), FormatError);
    EXPECT_FALSE(std::filesystem::exists(p));
}
