#pragma once
// Error types of the engine. Every parser of outside data throws FormatError naming the file
// and the problem; job entry points catch these (and c10::Error) at their boundary.
#include <stdexcept>
#include <string>

namespace mts {

/// Malformed or unsupported input file. what() reads "<file>: <problem>".
class FormatError : public std::runtime_error {
public:
    FormatError(const std::string& file, const std::string& problem)
        : std::runtime_error(file.empty() ? problem : file + ": " + problem),
          m_file(file), m_problem(problem) {}
    const std::string& file() const { return m_file; }
    const std::string& problem() const { return m_problem; }

private:
    std::string m_file;
    std::string m_problem;
};

/// A configuration value that is out of range or inconsistent. what() names the key.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Work stopped because its cancel token was set (not a failure). what() says what stopped.
class Cancelled : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace mts
