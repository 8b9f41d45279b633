#pragma once
// The committed Mamba-2 SSD fixture (tests/fixtures/mamba2/ssd_minimal.json, made by an
// independent Python ssd_minimal_discrete, see its README), read for the SSD test suites
// (test_ssd.cpp: chunked; test_ssd_cpu.cpp: fused CPU).
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "shared_data.h"
#include "mts/core/kernels/ssd.h"

namespace mts::test {

struct SsdFixtureCase {
    std::string name;
    mts::SsdInputs in;            // float64, D always given, initialState when the case has one
    torch::Tensor y, finalState;  // the Python reference's outputs, float64
    int64_t blockLen = 0;         // the chunk length the reference used
};

inline torch::Tensor ssdFixtureTensor(const nlohmann::json& j) {
    const std::vector<int64_t> shape = j.at("shape").get<std::vector<int64_t>>();
    const std::vector<double> data = j.at("data").get<std::vector<double>>();
    return torch::tensor(data, torch::kFloat64).reshape(shape);
}

/// Every case of the fixture; throws std::runtime_error naming the file when it is missing.
inline std::vector<SsdFixtureCase> loadSsdMinimalFixture() {
    const std::filesystem::path path = sourceDir() / "tests/fixtures/mamba2/ssd_minimal.json";
    std::ifstream f(path);
    if (!f) throw std::runtime_error("missing fixture " + path.string());
    const nlohmann::json j = nlohmann::json::parse(f);
    std::vector<SsdFixtureCase> cases;
    for (const auto& c : j.at("cases")) {
        SsdFixtureCase k;
        k.name = c.at("name").get<std::string>();
        k.in.x = ssdFixtureTensor(c.at("x"));
        k.in.dt = ssdFixtureTensor(c.at("dt"));
        k.in.A = ssdFixtureTensor(c.at("A"));
        k.in.Bm = ssdFixtureTensor(c.at("B"));
        k.in.Cm = ssdFixtureTensor(c.at("C"));
        k.in.D = ssdFixtureTensor(c.at("D"));
        if (c.contains("initial_state")) k.in.initialState = ssdFixtureTensor(c.at("initial_state"));
        k.y = ssdFixtureTensor(c.at("y"));
        k.finalState = ssdFixtureTensor(c.at("final_state"));
        k.blockLen = c.at("block_len").get<int64_t>();
        cases.push_back(std::move(k));
    }
    return cases;
}

}  // namespace mts::test
