#pragma once
// Data-parallel wiring of `train`: which rank this process is (torchrun's variables, or
// --nproc N, which makes this process rank 0 and starts ranks 1..N-1 as copies of this command
// with the cores divided among them), per-rank logging, and the exit code.
//
// Exit codes of `train`: 0 done (also cancelled), 1 error, 3 data parallel failed: a rank died
// or hung past --dist-timeout, or the ranks could not join.
#include <memory>
#include <string>

#include "mts/core/train/distributed_launch.h"
#include "mts/core/train/trainer.h"

namespace CLI {
class App;
}

namespace mts::cli {

constexpr int kExitRankFailed = 3;

struct TrainRankOptions {
    int nproc = 1;
    std::string backend = "auto";
    double timeoutSec = 180.0;
    double bucketMb = 25.0;
    bool noOverlap = false;
};

/// --nproc, --dist-backend, --dist-timeout, --dist-bucket-mb, --dist-no-overlap.
void addTrainRankOptions(CLI::App& sub, TrainRankOptions& o);

class TrainRanks {
public:
    /// Reads the environment; with --nproc > 1 (and no WORLD_SIZE) starts the local ranks.
    /// Throws ConfigError for --nproc under torchrun or bad values.
    explicit TrainRanks(const TrainRankOptions& o);
    const DistributedOptions& options() const { return m_options; }
    /// Rank 0 (or no data parallel): prints the result and writes the run folder.
    bool writer() const { return !m_options.enabled || m_options.rank == 0; }
    /// After run(): reaps the local ranks and returns the exit code.
    int finish(const TrainResult& r);

private:
    DistributedOptions m_options;
    std::unique_ptr<LocalRanks> m_local;
};

}  // namespace mts::cli
