#include "corpus/document_spool.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace fs = std::filesystem;

namespace mts::detail {

namespace {
std::string sysError() { return std::strerror(errno); }
}  // namespace

DocumentSpool::DocumentSpool(fs::path file) : m_file(std::move(file)) {
    m_out = std::fopen(m_file.c_str(), "w+be");
    if (!m_out) throw std::runtime_error(m_file.string() + ": cannot create the document spool: " + sysError());
}

DocumentSpool::~DocumentSpool() {
    if (m_out) std::fclose(m_out);
    std::error_code ec;
    fs::remove(m_file, ec);
}

void DocumentSpool::write(const CorpusDocument& doc) {
    for (const std::string* field : {&doc.source, &doc.kind, &doc.text}) {
        const uint64_t n = field->size();
        if (std::fwrite(&n, sizeof n, 1, m_out) != 1 || (n && std::fwrite(field->data(), 1, n, m_out) != n))
            throw std::runtime_error(m_file.string() + ": cannot write the document spool (disk full?): " + sysError());
    }
    ++m_documents;
}

uint64_t DocumentSpool::replay(const std::function<bool(CorpusDocument&&)>& fn) {
    if (std::fflush(m_out) != 0 || std::fseek(m_out, 0, SEEK_SET) != 0)
        throw std::runtime_error(m_file.string() + ": cannot rewind the document spool: " + sysError());
    uint64_t done = 0;
    while (done < m_documents) {
        CorpusDocument doc;
        for (std::string* field : {&doc.source, &doc.kind, &doc.text}) {
            uint64_t n = 0;
            if (std::fread(&n, sizeof n, 1, m_out) != 1)
                throw std::runtime_error(m_file.string() + ": the document spool ends early");
            field->resize(n);
            if (n && std::fread(field->data(), 1, n, m_out) != n)
                throw std::runtime_error(m_file.string() + ": the document spool ends early");
        }
        ++done;
        if (!fn(std::move(doc))) break;
    }
    return done;
}

}  // namespace mts::detail
