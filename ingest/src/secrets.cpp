#include "mts/ingest/secrets.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <unordered_set>

namespace mts::ingest {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

bool endsWith(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string secretFileReason(std::string_view relPathIn) {
    const std::string rel = lower(relPathIn);
    const size_t slash = rel.rfind('/');
    const std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
    const std::string parent = slash == std::string::npos ? "" : rel.substr(0, slash);
    const std::string parentName = parent.substr(parent.rfind('/') == std::string::npos ? 0 : parent.rfind('/') + 1);

    static const std::unordered_set<std::string> keyNames = {
        "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk", "id_xmss",
        "ssh_host_rsa_key", "ssh_host_dsa_key", "ssh_host_ecdsa_key", "ssh_host_ed25519_key", "secring.gpg",
        "secring.kbx", "private.key", "privkey.pem"};
    if (keyNames.count(name)) return "private key file (by name)";
    static const std::unordered_set<std::string> keyExtensions = {"pem", "key", "p12", "pfx", "ppk", "jks",
                                                                  "keystore", "p8", "pkcs12"};
    const size_t dot = name.rfind('.');
    const std::string ext = dot == std::string::npos || dot == 0 ? "" : name.substr(dot + 1);
    if (keyExtensions.count(ext)) return "private key or certificate store (." + ext + ")";

    if (name == ".env" || ext == "env" ||
        (name.rfind(".env.", 0) == 0 && !endsWith(name, ".example") && !endsWith(name, ".sample") &&
         !endsWith(name, ".template") && !endsWith(name, ".dist") && !endsWith(name, ".defaults")))
        return "environment file (.env: usually API keys and passwords)";

    static const std::unordered_set<std::string> credentialNames = {
        ".netrc", "_netrc", ".pgpass", ".git-credentials", ".npmrc", ".pypirc", ".htpasswd", ".dockercfg",
        ".my.cnf", ".s3cfg", ".boto", ".vault-token", "credentials.db", "access_tokens.db"};
    if (credentialNames.count(name)) return "credential store (" + name + ")";
    if ((parentName == ".aws" && name == "credentials") ||
        (parentName == ".docker" && name == "config.json") || (parentName == ".kube" && name == "config") ||
        (parentName == "gh" && name == "hosts.yml") || (parentName == "gcloud" && endsWith(name, ".db")) ||
        (name.rfind("client_secret", 0) == 0 && ext == "json") || name == "service-account.json")
        return "credential store (" + (parentName.empty() ? name : parentName + "/" + name) + ")";

    static const std::unordered_set<std::string> vaultExtensions = {"keychain", "keychain-db", "kdbx", "kdb",
                                                                    "agilekeychain", "opvault", "psafe3"};
    if (vaultExtensions.count(ext)) return "keychain or password database (." + ext + ")";
    return {};
}

std::string secretFolderReason(std::string_view nameIn) {
    const std::string name = lower(nameIn);
    if (name == ".ssh") return "SSH keys folder";
    if (name == ".gnupg") return "GnuPG keyring folder";
    if (name == ".password-store") return "pass(1) password store";
    if (name == "keychains") return "keychains folder";
    if (name == "private-keys-v1.d") return "GnuPG private keys";
    return {};
}

bool containsPrivateKey(std::string_view content) {
    static const std::string_view kBegin = "-----BEGIN ";
    size_t at = 0;
    while ((at = content.find(kBegin, at)) != std::string_view::npos) {
        const size_t lineEnd = std::min(content.find('\n', at), at + 80);
        const std::string_view line = content.substr(at, lineEnd == std::string_view::npos ? std::string_view::npos : lineEnd - at);
        if (line.find("PRIVATE KEY") != std::string_view::npos && line.find("-----", kBegin.size()) != std::string_view::npos)
            return true;
        at += kBegin.size();
    }
    // PuTTY key files start with their header; a text that merely mentions one does not.
    return content.rfind("PuTTY-User-Key-File-", 0) == 0;
}

}  // namespace mts::ingest
