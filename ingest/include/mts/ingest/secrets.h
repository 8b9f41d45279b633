#pragma once
// Files that are obviously secrets: private keys, .env files, credential stores, keychains.
// The walk skips them (reason "secret") unless IngestOptions::includeSecrets is set, so a home
// folder or a project dropped whole does not put its keys into a training corpus.
// Pure functions, thread-safe.
#include <string>
#include <string_view>

namespace mts::ingest {

/// Why the file at `relPath` ('/'-separated, relative to the dropped folder; the last
/// component is the file name) is a secret by its name, or "" when the name says nothing:
/// SSH/TLS/PGP private keys (id_rsa, *.pem, *.key, *.p12, *.ppk, ...), .env and .env.* (not
/// .env.example/.sample/.template/.dist), .netrc, .pgpass, .git-credentials, .npmrc, .pypirc,
/// .htpasswd, .aws/credentials, .docker/config.json, .kube/config, keychains and password
/// databases (*.keychain, *.keychain-db, *.kdbx). Case-insensitive.
std::string secretFileReason(std::string_view relPath);

/// Why the folder `name` is never descended into as a secret store (.ssh, .gnupg,
/// .password-store, Keychains), or "".
std::string secretFolderReason(std::string_view name);

/// True when `content` holds a private key block: a "-----BEGIN ... PRIVATE KEY-----" line
/// (PEM, OpenSSH, PGP "PRIVATE KEY BLOCK") or a PuTTY key file header.
bool containsPrivateKey(std::string_view content);

}  // namespace mts::ingest
