// One reader per document kind; all of them count what they emit against the scanned size.
#include "data/document_stream.h"

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.h"
#include "data/file_region.h"
#include "data/flac.h"

namespace lmc::data {
namespace {

constexpr uint64_t kBlock = 1 << 20;

void stream_raw(const RegionReader& reader, const ByteSink& sink) {
  std::vector<uint8_t> block;
  for (uint64_t pos = 0; pos < reader.size(); pos += block.size()) {
    block.resize(std::min(kBlock, reader.size() - pos));
    reader.read_at(pos, block);
    sink(block);
  }
}

}  // namespace

void stream_document(const Corpus& corpus, const DocRef& doc, const ByteSink& sink) {
  std::string name = document_name(corpus, doc);
  with_context("reading " + name, [&] {
    RegionReader reader(document_region(corpus, doc));
    uint64_t emitted = 0;
    ByteSink counted = [&](std::span<const uint8_t> bytes) {
      emitted += bytes.size();
      if (emitted > doc.size) throw Error("document grew after it was scanned");
      sink(bytes);
    };
    switch (doc.kind) {
      case DocKind::Text:
      case DocKind::Wav:
        stream_raw(reader, counted);
        break;
      case DocKind::JsonlLine: {
        std::string value = jsonl_field_value(reader.read_all(), corpus.jsonl_field);
        counted(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
        break;
      }
      case DocKind::Flac:
        decode_flac(reader.as_read_at(), reader.size(), counted);
        break;
    }
    if (emitted != doc.size) {
      throw Error("document has " + std::to_string(emitted) + " bytes but had " + std::to_string(doc.size) +
                  " when scanned (did it change?)");
    }
  });
}

}  // namespace lmc::data
