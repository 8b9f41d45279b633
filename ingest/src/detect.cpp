#include "mts/ingest/detect.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "mts/ingest/text_clean.h"

namespace mts::ingest {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

std::string extensionOf(const std::string& lowerName) {
    auto dot = lowerName.rfind('.');
    if (dot == std::string::npos || dot == 0) return {};
    return lowerName.substr(dot + 1);
}

bool endsWith(const std::string& s, const char* suffix) {
    size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

const std::unordered_map<std::string, std::string>& codeExtensions() {
    static const std::unordered_map<std::string, std::string> m = {
        {"py", "python"}, {"pyi", "python"}, {"pyx", "python"}, {"c", "c"}, {"h", "c"},
        {"cc", "cpp"}, {"cpp", "cpp"}, {"cxx", "cpp"}, {"hpp", "cpp"}, {"hh", "cpp"},
        {"hxx", "cpp"}, {"ipp", "cpp"}, {"inl", "cpp"}, {"cu", "cuda"}, {"cuh", "cuda"},
        {"java", "java"}, {"js", "javascript"}, {"mjs", "javascript"}, {"cjs", "javascript"},
        {"jsx", "javascript"}, {"ts", "typescript"}, {"tsx", "typescript"}, {"go", "go"},
        {"rs", "rust"}, {"cs", "csharp"}, {"rb", "ruby"}, {"php", "php"}, {"swift", "swift"},
        {"kt", "kotlin"}, {"kts", "kotlin"}, {"scala", "scala"}, {"sh", "shell"},
        {"bash", "shell"}, {"zsh", "shell"}, {"fish", "shell"}, {"ps1", "powershell"},
        {"sql", "sql"}, {"r", "r"}, {"jl", "julia"}, {"lua", "lua"}, {"pl", "perl"},
        {"pm", "perl"}, {"hs", "haskell"}, {"ml", "ocaml"}, {"mli", "ocaml"}, {"ex", "elixir"},
        {"exs", "elixir"}, {"erl", "erlang"}, {"clj", "clojure"}, {"dart", "dart"},
        {"m", "objc"}, {"mm", "objc"}, {"f90", "fortran"}, {"f", "fortran"}, {"zig", "zig"},
        {"nim", "nim"}, {"vue", "vue"}, {"svelte", "svelte"}, {"css", "css"}, {"scss", "css"},
        {"sass", "css"}, {"less", "css"}, {"cmake", "cmake"}, {"mk", "make"}, {"gradle", "gradle"},
        {"groovy", "groovy"}, {"vim", "vim"}, {"el", "elisp"}, {"lisp", "lisp"}, {"scm", "scheme"},
        {"proto", "protobuf"}, {"graphql", "graphql"}, {"glsl", "glsl"}, {"hlsl", "hlsl"},
        {"asm", "asm"}, {"s", "asm"}, {"bat", "batch"}, {"cmd", "batch"}, {"ipynb", "json"},
    };
    return m;
}

const std::unordered_map<std::string, std::string>& codeFileNames() {
    static const std::unordered_map<std::string, std::string> m = {
        {"makefile", "make"}, {"gnumakefile", "make"}, {"cmakelists.txt", "cmake"},
        {"dockerfile", "dockerfile"}, {"containerfile", "dockerfile"}, {"rakefile", "ruby"},
        {"gemfile", "ruby"}, {"vagrantfile", "ruby"}, {"jenkinsfile", "groovy"},
        {"build", "starlark"}, {"build.bazel", "starlark"}, {"workspace", "starlark"},
        {"meson.build", "meson"}, {"sconstruct", "python"}, {"justfile", "just"},
    };
    return m;
}

const std::unordered_map<std::string, std::string>& configExtensions() {
    static const std::unordered_map<std::string, std::string> m = {
        {"yaml", "yaml"}, {"yml", "yaml"}, {"toml", "toml"}, {"xml", "xml"}, {"ini", "ini"},
        {"cfg", "ini"}, {"conf", "ini"}, {"properties", "ini"}, {"env", "ini"}, {"xsd", "xml"},
        {"xsl", "xml"}, {"plist", "xml"}, {"json5", "json"}, {"jsonc", "json"}, {"editorconfig", "ini"},
        {"gitignore", "gitignore"}, {"gitattributes", "gitattributes"}, {"qrc", "xml"}, {"ui", "xml"},
        {"desktop", "ini"}, {"service", "ini"}, {"pro", "qmake"}, {"pri", "qmake"},
    };
    return m;
}

const std::unordered_set<std::string>& textExtensions() {
    static const std::unordered_set<std::string> s = {
        "txt", "text", "rst", "tex", "ltx", "sty", "cls", "bib", "org", "adoc", "asciidoc",
        "asc", "textile", "wiki", "mediawiki", "pod", "rdoc", "man", "1", "2", "3", "4", "5",
        "6", "7", "8", "nfo", "log", "srt", "vtt", "po", "pot", "diff", "patch", "eml", "me",
    };
    return s;
}

const std::unordered_map<std::string, std::string>& skipExtensions() {
    static const std::unordered_map<std::string, std::string> m = {
        // images
        {"png", "image"}, {"jpg", "image"}, {"jpeg", "image"}, {"gif", "image"}, {"bmp", "image"},
        {"tif", "image"}, {"tiff", "image"}, {"webp", "image"}, {"ico", "image"}, {"icns", "image"},
        {"svg", "image"}, {"svgz", "image"}, {"heic", "image"}, {"psd", "image"}, {"xcf", "image"},
        {"raw", "image"}, {"cr2", "image"}, {"nef", "image"}, {"avif", "image"}, {"eps", "image"},
        // archives
        {"zip", "archive"}, {"tar", "archive"}, {"gz", "archive"}, {"tgz", "archive"},
        {"bz2", "archive"}, {"xz", "archive"}, {"zst", "archive"}, {"7z", "archive"},
        {"rar", "archive"}, {"jar", "archive"}, {"war", "archive"}, {"whl", "archive"},
        {"egg", "archive"}, {"deb", "archive"}, {"rpm", "archive"}, {"apk", "archive"},
        {"dmg", "archive"}, {"iso", "archive"}, {"lz4", "archive"}, {"lzma", "archive"},
        {"cab", "archive"}, {"nupkg", "archive"},
        // binaries, media, office, data blobs, models
        {"exe", "binary"}, {"dll", "binary"}, {"so", "binary"}, {"dylib", "binary"},
        {"o", "binary"}, {"obj", "binary"}, {"a", "binary"}, {"lib", "binary"},
        {"bin", "binary"}, {"class", "binary"}, {"pyc", "binary"}, {"pyo", "binary"},
        {"wasm", "binary"}, {"dat", "binary"}, {"db", "binary"}, {"sqlite", "binary"},
        {"sqlite3", "binary"}, {"pt", "binary"}, {"pth", "binary"}, {"ckpt", "binary"},
        {"safetensors", "binary"}, {"onnx", "binary"}, {"npy", "binary"}, {"npz", "binary"},
        {"pkl", "binary"}, {"pickle", "binary"}, {"h5", "binary"}, {"hdf5", "binary"},
        {"parquet", "binary"}, {"arrow", "binary"}, {"feather", "binary"}, {"mp3", "binary"},
        {"mp4", "binary"}, {"wav", "binary"}, {"flac", "binary"}, {"ogg", "binary"},
        {"avi", "binary"}, {"mkv", "binary"}, {"mov", "binary"}, {"webm", "binary"},
        {"ttf", "binary"}, {"otf", "binary"}, {"woff", "binary"}, {"woff2", "binary"},
        {"doc", "binary"}, {"docx", "binary"}, {"xls", "binary"}, {"xlsx", "binary"},
        {"ppt", "binary"}, {"pptx", "binary"}, {"odt", "binary"}, {"ods", "binary"},
        {"odp", "binary"}, {"epub", "binary"}, {"swf", "binary"}, {"DS_Store", "binary"},
    };
    return m;
}

const std::unordered_set<std::string>& lockFileNames() {
    static const std::unordered_set<std::string> s = {
        "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "cargo.lock", "poetry.lock",
        "pipfile.lock", "composer.lock", "gemfile.lock", "go.sum", "flake.lock", "mix.lock",
        "pubspec.lock", "podfile.lock", "packages.lock.json", "npm-shrinkwrap.json", "uv.lock",
        "bun.lockb", "conda-lock.yml", "gradle.lockfile",
    };
    return s;
}

Detection skip(const std::string& reason, const std::string& detail) {
    Detection d;
    d.cls = FileClass::Skip;
    d.reason = reason;
    d.detail = detail;
    return d;
}

// Magic numbers that identify binary formats regardless of the name.
Detection detectMagic(std::string_view h) {
    auto starts = [&](const char* m, size_t n) { return h.size() >= n && std::memcmp(h.data(), m, n) == 0; };
    if (starts("%PDF-", 5)) {
        Detection d;
        d.cls = FileClass::Pdf;
        return d;
    }
    if (starts("\x89PNG\r\n\x1a\n", 8)) return skip("binary", "PNG image data");
    if (starts("\xFF\xD8\xFF", 3)) return skip("binary", "JPEG image data");
    if (starts("GIF87a", 6) || starts("GIF89a", 6)) return skip("binary", "GIF image data");
    if (starts("BM", 2) && h.size() > 14 && h[6] == 0 && h[7] == 0) return skip("binary", "BMP image data");
    if (starts("II*\0", 4) || starts("MM\0*", 4)) return skip("binary", "TIFF image data");
    if (starts("RIFF", 4)) return skip("binary", "RIFF media data");
    if (starts("PK\x03\x04", 4) || starts("PK\x05\x06", 4)) return skip("archive", "ZIP archive data");
    if (starts("\x1f\x8b", 2)) return skip("archive", "gzip compressed data");
    if (starts("BZh", 3) && h.size() > 3 && h[3] >= '1' && h[3] <= '9') return skip("archive", "bzip2 compressed data");
    if (starts("\xFD" "7zXZ\0", 6)) return skip("archive", "xz compressed data");
    if (starts("7z\xBC\xAF\x27\x1C", 6)) return skip("archive", "7-zip archive data");
    if (starts("Rar!", 4)) return skip("archive", "RAR archive data");
    if (starts("\x28\xB5\x2F\xFD", 4)) return skip("archive", "zstd compressed data");
    if (h.size() > 262 && std::memcmp(h.data() + 257, "ustar", 5) == 0) return skip("archive", "tar archive");
    if (starts("\x7F" "ELF", 4)) return skip("binary", "ELF executable");
    if (starts("MZ", 2) && h.size() >= 64) return skip("binary", "DOS/Windows executable");
    if (starts("\xCA\xFE\xBA\xBE", 4) || starts("\xCF\xFA\xED\xFE", 4)) return skip("binary", "Java class / Mach-O binary");
    if (starts("\0asm", 4)) return skip("binary", "WebAssembly binary");
    if (starts("SQLite format 3", 15)) return skip("binary", "SQLite database");
    if (starts("OggS", 4) || starts("ID3", 3) || starts("fLaC", 4)) return skip("binary", "audio data");
    if (starts("\xD0\xCF\x11\xE0", 4)) return skip("binary", "OLE2 (old Office) document");
    if (starts("\x93NUMPY", 6)) return skip("binary", "NumPy array");
    return {};
}

}  // namespace

const char* kindName(FileClass cls) {
    switch (cls) {
        case FileClass::Text: return "text";
        case FileClass::Markdown: return "markdown";
        case FileClass::Html: return "html";
        case FileClass::Code: return "code";
        case FileClass::Config: return "config";
        case FileClass::JsonLines:
        case FileClass::Json:
        case FileClass::Csv: return "records";
        case FileClass::Pdf: return "pdf";
        case FileClass::Skip: return "skip";
    }
    return "text";
}

bool isVendoredDirName(const std::string& name) {
    static const std::unordered_set<std::string> s = {
        ".git", ".hg", ".svn", "node_modules", "build", "dist", "__pycache__", "venv", ".venv",
        ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".cache", ".gradle", ".idea",
        "bower_components", "site-packages", ".eggs", ".next", ".nuxt", "target", "vendor",
        "third_party", "third-party", ".terraform", "Pods", "DerivedData", ".ipynb_checkpoints",
    };
    if (s.count(name)) return true;
    // build-release, build-debug, cmake-build-*: generated build trees
    return name.rfind("build-", 0) == 0 || name.rfind("cmake-build-", 0) == 0 ||
           (name.size() > 9 && name.compare(name.size() - 9, 9, ".egg-info") == 0);
}

bool isAmbiguousExtension(const std::string& ext) {
    // Binary far more often than not, but used for plain text by some data sets
    // (WikiText's .raw, many .dat/.data/.out dumps, the odd text .bin).
    return ext == "raw" || ext == "dat" || ext == "data" || ext == "bin" || ext == "out";
}

bool looksLikeText(std::string_view head) {
    size_t controls = 0;
    for (unsigned char c : head) {
        if (c == 0) return false;
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1B) ++controls;
    }
    if (controls * 100 > head.size()) return false;
    return invalidUtf8Ratio(head) <= 0.3;
}

Detection detectByName(const std::string& fileName) {
    const std::string name = lower(fileName);
    const std::string ext = extensionOf(name);
    if (lockFileNames().count(name) || ext == "lock")
        return skip("lock-file", "dependency lock file (generated)");
    if (endsWith(name, ".min.js") || endsWith(name, ".min.css") || endsWith(name, ".min.mjs") ||
        endsWith(name, ".bundle.js") || endsWith(name, ".map"))
        return skip("minified", "minified or generated bundle (by name)");
    if (auto it = skipExtensions().find(ext); it != skipExtensions().end()) {
        Detection d = skip(it->second, "." + ext + " files are " + (it->second == "image" ? "images" : it->second == "archive" ? "archives" : "binary data"));
        d.sniff = isAmbiguousExtension(ext);
        return d;
    }
    Detection d;
    if (ext == "pdf") {
        d.cls = FileClass::Pdf;
        return d;
    }
    if (ext == "md" || ext == "markdown" || ext == "mdx" || ext == "mkd") {
        d.cls = FileClass::Markdown;
        return d;
    }
    if (ext == "html" || ext == "htm" || ext == "xhtml") {
        d.cls = FileClass::Html;
        return d;
    }
    if (ext == "jsonl" || ext == "ndjson") {
        d.cls = FileClass::JsonLines;
        return d;
    }
    if (ext == "json") {
        d.cls = FileClass::Json;
        d.language = "json";
        return d;
    }
    if (ext == "csv" || ext == "tsv") {
        d.cls = FileClass::Csv;
        d.language = ext;
        return d;
    }
    if (auto it = codeFileNames().find(name); it != codeFileNames().end()) {
        d.cls = FileClass::Code;
        d.language = it->second;
        return d;
    }
    if (auto it = codeExtensions().find(ext); it != codeExtensions().end()) {
        d.cls = FileClass::Code;
        d.language = it->second;
        return d;
    }
    if (auto it = configExtensions().find(ext); it != configExtensions().end()) {
        d.cls = FileClass::Config;
        d.language = it->second;
        return d;
    }
    if (name.size() > 1 && name[0] == '.' && ext == name.substr(1) && configExtensions().count(ext)) {
        d.cls = FileClass::Config;
        d.language = ext;
        return d;
    }
    d.cls = FileClass::Text;  // .txt and friends, and unknown names: content decides
    d.sniff = !textExtensions().count(ext);
    return d;
}

Detection detect(const std::string& fileName, std::string_view head) {
    Detection byName = detectByName(fileName);
    Detection byMagic = detectMagic(head);
    if (byMagic.cls == FileClass::Pdf) return byMagic;
    if (byMagic.cls == FileClass::Skip && !byMagic.reason.empty()) {
        if (byName.cls == FileClass::Skip) byMagic.reason = byName.reason;
        else byMagic.detail = "content is " + byMagic.detail + " despite the name";
        return byMagic;
    }
    if (byName.cls == FileClass::Skip && !byName.sniff) return byName;
    if (byName.cls == FileClass::Pdf) {
        // The PDF header may legally follow some junk within the first 1024 bytes.
        if (head.substr(0, 1024).find("%PDF-") != std::string_view::npos) return byName;
        return skip("damaged", "named .pdf but has no %PDF- header (not a PDF or truncated)");
    }
    const auto b0 = static_cast<unsigned char>(head.size() > 0 ? head[0] : 0);
    const auto b1 = static_cast<unsigned char>(head.size() > 1 ? head[1] : 0);
    if ((b0 == 0xFF && b1 == 0xFE) || (b0 == 0xFE && b1 == 0xFF))
        return skip("binary", "UTF-16 text is not supported (convert to UTF-8)");
    if (byName.sniff) {
        // The name could not decide; the content does (WikiText's wiki.train.raw is text).
        if (looksLikeText(head)) {
            Detection d;
            d.cls = FileClass::Text;
            d.sniff = true;
            return d;
        }
        Detection d = byName.cls == FileClass::Skip
                          ? skip(byName.reason, byName.detail + ", and this one's content is not text")
                          : skip("binary", "content is not text (NUL bytes, control characters or invalid UTF-8)");
        d.sniff = true;
        return d;
    }
    if (head.find('\0') != std::string_view::npos)
        return skip("binary", "contains NUL bytes (binary data)");
    if (invalidUtf8Ratio(head) > 0.3)
        return skip("binary", "mostly invalid UTF-8 (binary data or an unknown encoding)");
    return byName;
}

bool looksMinified(std::string_view content) {
    if (content.size() < 2048) return false;
    size_t lines = 1 + static_cast<size_t>(std::count(content.begin(), content.end(), '\n'));
    return content.size() / lines > 500;
}

}  // namespace mts::ingest
