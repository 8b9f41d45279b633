#pragma once
// Where the CLI and the studio keep their data by default: one folder for both, so a run
// started headless appears on the studio's Runs and Generate pages and the other way round.
//
//   defaultDataDir()  $XDG_DATA_HOME/mamba-studio, else ~/.local/share/mamba-studio
//                     (else the current folder when neither variable is set)
//   defaultRunsDir()  defaultDataDir()/runs       (run_dir.h)
//   datasets          defaultDataDir()/datasets   (the studio's built corpora)
//
// Earlier studio versions wrote under Qt's per-application folder,
// $XDG_DATA_HOME/MambaStudio/mamba-studio/ (~/.local/share/MambaStudio/mamba-studio/):
// legacyRunsDirs() finds runs left there so the front ends can offer them.
//
// Threading: reads the environment and the file system only; safe from any thread.
#include <filesystem>
#include <vector>

namespace mts {

/// The data folder shared by the CLI and the studio (see above). Not created.
std::filesystem::path defaultDataDir();

/// Runs folders other than `current` that hold at least one run (a sub-folder with config.json
/// or checkpoints/): the studio's old location under $XDG_DATA_HOME and ~/.local/share, the
/// shared default under ~/.local/share when $XDG_DATA_HOME points elsewhere, and
/// ~/.mamba-studio/runs. Each folder once, in that order; unreadable folders are skipped.
std::vector<std::filesystem::path> legacyRunsDirs(const std::filesystem::path& current);

}  // namespace mts
