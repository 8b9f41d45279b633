// GGUF writer/reader: round trip of every value type and tensor layout, and one malformed
// file per reader check.
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/formats/gguf.h"
#include "mts/core/runtime/errors.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::readFile;

namespace {

using mts::FormatError;
using mts::test::TempDir;
namespace gguf = mts::gguf;
using gguf::Value;
using gguf::ValueType;

// Hand-built GGUF bytes for malformed cases.
class Bytes {
public:
    template <class T>
    Bytes& put(T v) {
        m_s.append(reinterpret_cast<const char*>(&v), sizeof(T));
        return *this;
    }
    Bytes& str(const std::string& s) {
        put<uint64_t>(s.size());
        m_s += s;
        return *this;
    }
    Bytes& header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
        m_s += "GGUF";
        put<uint32_t>(version);
        put<uint64_t>(tensors);
        return put<uint64_t>(kvs);
    }
    Bytes& pad(size_t alignment = 32) {
        while (m_s.size() % alignment) m_s.push_back('\0');
        return *this;
    }
    Bytes& raw(size_t n, char c = '\0') {
        m_s.append(n, c);
        return *this;
    }
    // A 1-D tensor info.
    Bytes& tensor(const std::string& name, uint64_t ne, uint32_t type, uint64_t offset) {
        str(name);
        put<uint32_t>(1);
        put<uint64_t>(ne);
        put<uint32_t>(type);
        return put<uint64_t>(offset);
    }
    const std::string& s() const { return m_s; }

private:
    std::string m_s;
};

void expectRejected(const std::string& bytes, const std::string& needle) {
    try {
        gguf::parse(bytes.data(), bytes.size(), "mem.gguf");
        ADD_FAILURE() << "accepted, expected: " << needle;
    } catch (const FormatError& e) {
        EXPECT_EQ(e.file(), "mem.gguf");
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

gguf::Writer sampleWriter() {
    gguf::Writer w;
    w.set("general.architecture", Value::str("mamba"));
    w.set("u32", Value::u32(7));
    w.set("i32", Value::i32(-5));
    w.set("u64", Value::u64(1ull << 40));
    w.set("f32", Value::f32(1e-5f));
    w.set("bool", Value::boolean(true));
    w.set("empty.strings", Value::strArray({}));
    w.set("strings", Value::strArray({"a", "", "Ġhello", "<|endoftext|>"}));
    w.set("ints", Value::i32Array({1, -2, 3}));
    w.set("floats", Value::f32Array({0.5f, -1.25f}));
    Value nested;
    nested.type = ValueType::Array;
    nested.arrayType = ValueType::Array;
    nested.array = {Value::i32Array({1}), Value::i32Array({2, 3})};
    w.set("nested", nested);
    return w;
}

}  // namespace

TEST(Gguf, RoundTripsMetadataAndTensors) {
    TempDir dir;
    torch::manual_seed(2);
    auto w = sampleWriter();
    auto a = torch::randn({5});
    auto b = torch::randn({3, 4});
    auto c = torch::randn({2, 3, 4});
    auto d = torch::randn({2, 1, 3, 2});
    w.addTensor("a", a, gguf::TensorType::F32);
    w.addTensor("b", b, gguf::TensorType::F16);
    w.addTensor("c", c.transpose(1, 2), gguf::TensorType::F32);  // non-contiguous input
    w.addTensor("d", d, gguf::TensorType::F32);
    auto p = dir / "x.gguf";
    w.write(p);
    auto f = gguf::readFile(p);
    EXPECT_EQ(f.version, 3u);
    EXPECT_EQ(f.alignment, 32u);
    ASSERT_EQ(f.metadata.size(), 11u);
    auto ref = sampleWriter();
    EXPECT_EQ(f.find("general.architecture")->s, "mamba");
    EXPECT_EQ(f.metadata[0].first, "general.architecture");  // order kept
    EXPECT_EQ(*f.find("u32"), Value::u32(7));
    EXPECT_EQ(*f.find("i32"), Value::i32(-5));
    EXPECT_EQ(*f.find("u64"), Value::u64(1ull << 40));
    EXPECT_EQ(*f.find("f32"), Value::f32(1e-5f));
    EXPECT_EQ(*f.find("bool"), Value::boolean(true));
    EXPECT_EQ(*f.find("strings"), Value::strArray({"a", "", "Ġhello", "<|endoftext|>"}));
    EXPECT_EQ(*f.find("empty.strings"), Value::strArray({}));
    EXPECT_EQ(*f.find("ints"), Value::i32Array({1, -2, 3}));
    EXPECT_EQ(*f.find("floats"), Value::f32Array({0.5f, -1.25f}));
    EXPECT_EQ(f.find("nested")->array.size(), 2u);
    EXPECT_EQ(f.find("nested")->array[1], Value::i32Array({2, 3}));
    EXPECT_EQ(f.find("missing"), nullptr);

    ASSERT_EQ(f.tensorInfos.size(), 4u);
    EXPECT_EQ(f.tensorInfos[1].ne, (std::vector<int64_t>{4, 3}));  // ggml order
    EXPECT_EQ(f.tensorInfos[1].type, gguf::TensorType::F16);
    for (const auto& ti : f.tensorInfos) EXPECT_EQ(ti.offset % 32, 0u) << ti.name;
    EXPECT_TRUE(torch::equal(f.tensors.at("a"), a));
    EXPECT_EQ(f.tensors.at("b").scalar_type(), torch::kFloat16);
    EXPECT_TRUE(torch::equal(f.tensors.at("b"), b.to(torch::kFloat16)));
    EXPECT_TRUE(torch::equal(f.tensors.at("c"), c.transpose(1, 2).contiguous()));
    EXPECT_TRUE(torch::equal(f.tensors.at("d"), d));
}

TEST(Gguf, CustomAlignmentIsRecordedAndHonoured) {
    TempDir dir;
    gguf::Writer w;
    w.set("k", Value::u32(1));
    w.addTensor("x", torch::ones({3}), gguf::TensorType::F32);
    w.addTensor("y", torch::ones({5}), gguf::TensorType::F32);
    w.write(dir / "a.gguf", 64);
    auto f = gguf::readFile(dir / "a.gguf");
    EXPECT_EQ(f.alignment, 64u);
    EXPECT_EQ(*f.find("general.alignment"), Value::u32(64));
    EXPECT_EQ(f.tensorInfos[1].offset, 64u);
    EXPECT_TRUE(torch::equal(f.tensors.at("y"), torch::ones({5})));
}

TEST(Gguf, AcceptsAHandBuiltFile) {
    Bytes b;
    b.header(1, 1).str("k").put<uint32_t>(4).put<uint32_t>(9).tensor("t", 2, 0, 0).pad().put<float>(1.f).put<float>(2.f);
    auto f = gguf::parse(b.s().data(), b.s().size(), "mem.gguf");
    EXPECT_EQ(f.find("k")->u, 9u);
    EXPECT_EQ(f.tensors.at("t")[1].item<float>(), 2.f);
}

TEST(Gguf, RejectsBadMagicAndVersion) {
    expectRejected("GGML" + std::string(20, '\0'), "bad magic");
    expectRejected(Bytes().header(0, 0, 1).s(), "unsupported GGUF version 1");
    expectRejected(Bytes().header(0, 0, 99).s(), "unsupported GGUF version 99");
}

TEST(Gguf, RejectsTruncationAnywhere) {
    TempDir dir;
    auto w = sampleWriter();
    w.addTensor("t", torch::randn({4, 3}), gguf::TensorType::F32);
    w.write(dir / "ok.gguf");
    const std::string bytes = readFile(dir / "ok.gguf");
    for (size_t cut = 0; cut < bytes.size(); ++cut)
        EXPECT_THROW(gguf::parse(bytes.data(), cut, "mem.gguf"), FormatError) << "cut at " << cut;
    EXPECT_NO_THROW(gguf::parse(bytes.data(), bytes.size(), "mem.gguf"));
}

TEST(Gguf, RejectsImpossibleCountsAndLengths) {
    expectRejected(Bytes().header(0, 1ull << 60).s(), "metadata count");
    expectRejected(Bytes().header(1ull << 60, 0).s(), "tensor count");
    expectRejected(Bytes().header(0, 1).put<uint64_t>(1ull << 62).raw(16).s(), "truncated");
    // An array claiming more elements than bytes remain.
    expectRejected(Bytes().header(0, 1).str("a").put<uint32_t>(9).put<uint32_t>(5).put<uint64_t>(1ull << 40).raw(16).s(),
                   "cannot fit");
    expectRejected(Bytes().header(0, 1).str("a").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(1ull << 40).raw(16).s(),
                   "cannot fit");
}

TEST(Gguf, RejectsBadValues) {
    expectRejected(Bytes().header(0, 1).str("k").put<uint32_t>(13).raw(8).s(), "unknown value type 13");
    expectRejected(Bytes().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(42).put<uint64_t>(0).s(),
                   "unknown array element type 42");
    expectRejected(Bytes().header(0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2).s(), "bool value 2");
    expectRejected(Bytes().header(0, 2).str("k").put<uint32_t>(4).put<uint32_t>(1).str("k").put<uint32_t>(4).put<uint32_t>(1).s(),
                   "duplicate metadata key 'k'");
    expectRejected(Bytes().header(0, 1).str("").put<uint32_t>(4).put<uint32_t>(1).s(), "empty metadata key");
    Bytes deep;
    deep.header(0, 1).str("k").put<uint32_t>(9);
    for (int i = 0; i < 6; ++i) deep.put<uint32_t>(9).put<uint64_t>(1);
    deep.put<uint32_t>(4).put<uint64_t>(1).put<uint32_t>(0).raw(64);
    expectRejected(deep.s(), "nested too deeply");
    expectRejected(Bytes().header(0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(24).s(), "not a power of two");
    expectRejected(Bytes().header(0, 1).str("general.alignment").put<uint32_t>(8).str("32").s(), "must be a u32");
}

TEST(Gguf, RejectsBadTensorInfos) {
    auto one = [](uint32_t nDims) {
        Bytes b;
        b.header(1, 0).str("t").put<uint32_t>(nDims);
        for (uint32_t i = 0; i < nDims; ++i) b.put<uint64_t>(1);
        b.put<uint32_t>(0).put<uint64_t>(0).pad().raw(64);
        return b.s();
    };
    expectRejected(one(0), "0 dimensions");
    expectRejected(one(5), "5 dimensions");
    expectRejected(Bytes().header(1, 0).tensor("t", 0, 0, 0).pad().raw(32).s(), "dimension 0 out of range");
    expectRejected(Bytes().header(1, 0).tensor("t", 4, 2, 0).pad().raw(32).s(), "ggml type 2 is not supported");
    expectRejected(Bytes().header(1, 0).tensor("t", 4, 0, 8).pad().raw(64).s(), "not aligned");
    expectRejected(Bytes().header(1, 0).tensor("t", 4, 0, 32).pad().raw(32).s(), "beyond the data section");
    expectRejected(Bytes().header(1, 0).tensor("t", 1ull << 39, 0, 0).pad().raw(32).s(), "exceeds the data section");
    expectRejected(Bytes().header(2, 0).tensor("t", 16, 0, 0).tensor("u", 4, 0, 32).pad().raw(64).s(), "overlap");
    expectRejected(Bytes().header(2, 0).tensor("t", 4, 0, 0).tensor("t", 4, 0, 32).pad().raw(64).s(), "duplicate tensor name");
    expectRejected(Bytes().header(1, 0).tensor("", 4, 0, 0).pad().raw(32).s(), "empty tensor name");
}

TEST(Gguf, ReadFileNamesTheFile) {
    TempDir dir;
    auto p = dir / "bad.gguf";
    std::ofstream(p, std::ios::binary) << "nope";
    try {
        gguf::readFile(p);
        FAIL();
    } catch (const FormatError& e) {
        EXPECT_EQ(e.file(), p.string());
    }
    EXPECT_THROW(gguf::readFile(dir / "missing.gguf"), FormatError);
}
