// The Generate page as a conversation (issue 14, items 1 and 8): each Send continues the whole
// transcript with the model's state carried (the same text as core's Conversation), Reset starts
// over, and a model whose tokenizer is smaller than its vocabulary says so once on loading.
#include <filesystem>

// LibTorch first: Qt defines `slots` as a macro, which breaks torch's ivalue headers.
#include "mts/core/formats/model_io.h"
#include "mts/core/generate/conversation.h"
#include "mts/core/tokenize/bpe_trainer.h"

#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>

#include <gtest/gtest.h>

#include "mts/ui/app_settings.h"
#include "mts/ui/generate_page.h"
#include "mts/ui/generation_job.h"
#include "ui_test_support.h"

using namespace mts::ui;
namespace fs = std::filesystem;

namespace {

bool loadInto(GeneratePage& page, const fs::path& model) {
    QSignalSpy loaded(page.job(), &GenerationJob::modelLoaded);
    QSignalSpy failed(page.job(), &GenerationJob::failed);
    page.loadModel(mts::test::qpath(model));
    mts::test::waitUntil([&] { return loaded.count() > 0 || failed.count() > 0; }, 60000);
    return loaded.count() == 1 && failed.count() == 0;
}

bool sendPrompt(GeneratePage& page, const QString& prompt) {
    QSignalSpy done(&page, &GeneratePage::generationFinished);
    page.findChild<QPlainTextEdit*>(QStringLiteral("promptEdit"))->setPlainText(prompt);
    QTest::mouseClick(page.findChild<QPushButton*>(QStringLiteral("sendButton")), Qt::LeftButton);
    return mts::test::waitUntil([&] { return done.count() > 0; }, 60000);
}

mts::SamplingOptions coreOptions(const SamplingSettings& s) {
    mts::SamplingOptions o;
    o.temperature = s.temperature;
    o.topK = s.topK;
    o.topP = s.topP;
    o.minP = s.minP;
    o.repetitionPenalty = s.repetitionPenalty;
    o.maxNewTokens = s.maxNewTokens;
    o.seed = s.seed;
    return o;
}

}  // namespace

TEST(GenerateConversation, SendsContinueTheTranscriptAndResetStartsOver) {
    mts::test::uiApp();
    MTS_REQUIRE_SHARED(fixture, "fixtures/mamba-tiny-hf");
    mts::test::TempDir tmp;
    AppSettings settings(mts::test::qpath(tmp / "settings.ini"), mts::test::qpath(tmp / "data"));
    GeneratePage page(settings);
    ASSERT_TRUE(loadInto(page, fixture));

    ASSERT_TRUE(sendPrompt(page, QStringLiteral("hello")));
    ASSERT_TRUE(sendPrompt(page, QStringLiteral(" and then")));
    const QString transcript = page.job()->transcript();
    auto* output = page.findChild<QPlainTextEdit*>(QStringLiteral("chatOutput"));
    EXPECT_EQ(output->toPlainText().trimmed(), transcript.trimmed());

    // Core's conversation with the same settings gives the same transcript: turn 2 continued
    // turn 1's text and state, it did not start from " and then" alone.
    mts::LoadedModel loaded = mts::loadModel(fixture);
    mts::Conversation chat(*loaded.model, loaded.tokenizer.get());
    const mts::SamplingOptions o = coreOptions(page.samplingSettings());
    const auto first = chat.send("hello", o);
    chat.send(" and then", o);
    EXPECT_EQ(transcript.toStdString(), chat.text());
    EXPECT_TRUE(transcript.startsWith(QStringLiteral("hello")));

    QTest::mouseClick(page.findChild<QPushButton*>(QStringLiteral("resetButton")), Qt::LeftButton);
    EXPECT_TRUE(output->toPlainText().isEmpty());
    ASSERT_TRUE(sendPrompt(page, QStringLiteral("hello")));
    EXPECT_EQ(page.job()->transcript().toStdString(), "hello" + first.text);
}

TEST(GenerateConversation, ASmallerTokenizerIsSaidOnLoading) {
    mts::test::uiApp();
    MTS_REQUIRE_SHARED(fixture, "fixtures/mamba-tiny-hf");
    mts::test::TempDir tmp;
    const fs::path model = tmp / "model";
    fs::create_directories(model);
    fs::copy_file(fixture / "config.json", model / "config.json");
    fs::copy_file(fixture / "model.safetensors", model / "model.safetensors");
    mts::WordLevelConfig wc;
    wc.minCount = 1;
    mts::WordLevelTrainer trainer(wc);
    trainer.addText("alpha beta gamma");
    trainer.train()->save(model / "tokenizer.json");

    AppSettings settings(mts::test::qpath(tmp / "settings.ini"), mts::test::qpath(tmp / "data"));
    GeneratePage page(settings);
    ASSERT_TRUE(loadInto(page, model));
    const QString label = page.findChild<QLabel*>(QStringLiteral("modelLabel"))->text();
    EXPECT_TRUE(label.contains(QStringLiteral("<|id 5|>"))) << label.toStdString();
    ASSERT_TRUE(loadInto(page, fixture));  // the byte tokenizer covers the fixture's 256 ids
    EXPECT_FALSE(page.findChild<QLabel*>(QStringLiteral("modelLabel"))->text().contains(QStringLiteral("<|id")));
}
