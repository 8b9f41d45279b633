// AdamW against LibTorch's AdamW, Muon's orthogonalisation, parameter roles, state round trip.
#include <gtest/gtest.h>

#include "mts/core/model/language_model.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/train/optimizers.h"

namespace mts {
namespace {

TEST(Optim, AdamWMatchesLibTorchAdamW) {
    torch::manual_seed(1);
    auto a = torch::randn({5, 4}).requires_grad_(true);
    auto b = a.detach().clone().requires_grad_(true);
    AdamWOptions o;
    o.lr = 0.01;
    o.weightDecay = 0.1;
    AdamW mine({{"w", a}}, {true}, o);
    torch::optim::AdamW ref({b}, torch::optim::AdamWOptions(0.01).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1));
    for (int step = 0; step < 5; ++step) {
        auto g = torch::randn({5, 4});
        a.mutable_grad() = g.clone();
        b.mutable_grad() = g.clone();
        mine.step(1.0);
        ref.step();
    }
    EXPECT_TRUE(torch::allclose(a, b, 1e-6, 1e-7)) << (a - b).abs().max().item<float>();
    EXPECT_EQ(mine.stepCount(), 5);
}

TEST(Optim, AdamWSkipsDecayWhereNotWanted) {
    auto w = torch::ones({3, 3}).requires_grad_(true);
    auto n = torch::ones({3}).requires_grad_(true);
    AdamWOptions o;
    o.lr = 0.1;
    o.weightDecay = 0.5;
    AdamW opt({{"w", w}, {"n", n}}, {true, false}, o);
    w.mutable_grad() = torch::zeros({3, 3});
    n.mutable_grad() = torch::zeros({3});
    opt.step(1.0);
    // Zero gradients: only decoupled weight decay moves w (by lr * wd), n stays.
    EXPECT_TRUE(torch::allclose(w, torch::full({3, 3}, 1.0 - 0.1 * 0.5)));
    EXPECT_TRUE(torch::equal(n, torch::ones({3})));
}

TEST(Optim, NewtonSchulzCubicConvergesToOrthogonal) {
    torch::manual_seed(2);
    for (auto shape : {std::vector<int64_t>{16, 16}, {12, 20}, {24, 8}}) {
        auto g = torch::randn(shape);
        auto o = newtonSchulz(g, 40, /*quintic=*/false);
        const int64_t k = std::min(shape[0], shape[1]);
        auto gram = shape[0] <= shape[1] ? torch::mm(o, o.t()) : torch::mm(o.t(), o);
        EXPECT_TRUE(torch::allclose(gram, torch::eye(k), 1e-3, 1e-3)) << (gram - torch::eye(k)).abs().max();
        // Same singular vectors as G: O equals U V^T of G's SVD.
        auto [u, s, vh] = torch::linalg_svd(g, false);
        EXPECT_TRUE(torch::allclose(o, torch::mm(u, vh), 2e-3, 2e-3));
    }
}

TEST(Optim, MuonUpdateIsOrthogonalToTolerance) {
    torch::manual_seed(3);
    auto w = torch::randn({32, 48}).requires_grad_(true);
    auto before = w.detach().clone();
    MuonOptions mo;
    mo.lr = 0.01;
    mo.weightDecay = 0.0;
    HybridMuon opt({{"h", w}}, {}, {}, mo, AdamWOptions{});
    w.mutable_grad() = torch::randn({32, 48});
    opt.step(1.0);
    // The applied update, undone of its lr and shape scale, is the orthogonalised momentum:
    // all singular values near 1 (the tuned quintic lands in ~[0.7, 1.2]).
    auto update = (before - w.detach()) / (0.01 * 0.2 * std::sqrt(48.0));
    auto s = torch::linalg_svdvals(update);
    EXPECT_GT(s.min().item<float>(), 0.6f);
    EXPECT_LT(s.max().item<float>(), 1.3f);
    // A raw gradient is far from orthogonal: its singular values spread widely.
    auto sg = torch::linalg_svdvals(w.grad());
    EXPECT_GT((sg.max() / sg.min()).item<float>(), 3.0f);
}

TEST(Optim, ParameterRolesOfBothArchitectures) {
    ModelConfig m;
    m.dModel = 32;
    m.nLayer = 1;
    m.dState = 4;
    auto mamba = createModel(m);
    std::map<std::string, ParamRole> roles;
    for (auto& p : mamba->named_parameters()) roles[p.key()] = classifyParameter(p.key(), p.value());
    EXPECT_EQ(roles.at("backbone.embeddings.weight"), ParamRole::Embedding);
    EXPECT_EQ(roles.at("backbone.layers.0.mixer.A_log"), ParamRole::NoDecay);
    EXPECT_EQ(roles.at("backbone.layers.0.mixer.D"), ParamRole::NoDecay);
    EXPECT_EQ(roles.at("backbone.layers.0.norm.weight"), ParamRole::NoDecay);
    EXPECT_EQ(roles.at("backbone.layers.0.mixer.dt_proj.bias"), ParamRole::NoDecay);
    EXPECT_EQ(roles.at("backbone.layers.0.mixer.dt_proj.weight"), ParamRole::Decay);
    EXPECT_EQ(roles.at("backbone.layers.0.mixer.conv1d.weight"), ParamRole::Decay);
    EXPECT_EQ(roles.at("backbone.layers.0.mixer.in_proj.weight"), ParamRole::Hidden);
    EXPECT_EQ(roles.at("backbone.layers.0.mixer.x_proj.weight"), ParamRole::Hidden);
    EXPECT_EQ(roles.at("backbone.layers.0.mixer.out_proj.weight"), ParamRole::Hidden);

    ModelConfig t = m;
    t.arch = Architecture::Transformer;
    t.nHead = 2;
    t.maxSeqLen = 16;
    auto tr = createModel(t);
    int hidden = 0, embedding = 0;
    for (auto& p : tr->named_parameters()) {
        auto r = classifyParameter(p.key(), p.value());
        if (p.value().dim() == 1) {
            EXPECT_EQ(r, ParamRole::NoDecay) << p.key();
        }
        hidden += r == ParamRole::Hidden;
        embedding += r == ParamRole::Embedding;
    }
    EXPECT_EQ(hidden, 4);     // c_attn, attn.c_proj, c_fc, mlp.c_proj
    EXPECT_EQ(embedding, 2);  // wte, wpe
}

TEST(Optim, StateDictRoundTripContinuesIdentically) {
    torch::manual_seed(4);
    auto make = [](torch::Tensor w, torch::Tensor e) {
        MuonOptions mo;
        mo.lr = 0.02;
        return HybridMuon({{"h", w}}, {{"e", e}}, {false}, mo, AdamWOptions{});
    };
    auto w1 = torch::randn({8, 6}).requires_grad_(true), e1 = torch::randn({6}).requires_grad_(true);
    auto opt1 = make(w1, e1);
    std::vector<torch::Tensor> grads;
    for (int i = 0; i < 4; ++i) grads.push_back(torch::randn({8, 6}));
    auto step = [&](HybridMuon& o, torch::Tensor& w, torch::Tensor& e, int i) {
        w.mutable_grad() = grads[i].clone();
        e.mutable_grad() = grads[i].sum(0);
        o.step(0.5);
    };
    step(opt1, w1, e1, 0);
    step(opt1, w1, e1, 1);
    auto saved = opt1.stateDict();
    std::map<std::string, torch::Tensor> copy;
    for (auto& [k, v] : saved) copy[k] = v.clone();
    auto w2 = w1.detach().clone().requires_grad_(true), e2 = e1.detach().clone().requires_grad_(true);
    auto opt2 = make(w2, e2);
    opt2.loadStateDict(copy);
    EXPECT_EQ(opt2.stepCount(), 2);
    for (int i = 2; i < 4; ++i) {
        step(opt1, w1, e1, i);
        step(opt2, w2, e2, i);
    }
    EXPECT_TRUE(torch::equal(w1, w2));
    EXPECT_TRUE(torch::equal(e1, e2));
    copy.erase("muon.momentum.h");
    EXPECT_THROW(opt2.loadStateDict(copy), std::runtime_error);
}

}  // namespace
}  // namespace mts
