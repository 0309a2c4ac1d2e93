// Reads one indexed document's bytes — text bytes, a JSONL line's field, a WAV data chunk, decoded FLAC PCM —
// and hands them over in blocks, so no document needs to fit in memory (JSONL lines excepted: a line is
// parsed whole). Audio comes out as raw PCM; the audio-as-string transform is the caller's.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "data/corpus.h"

namespace lmc::data {

using ByteSink = std::function<void(std::span<const uint8_t> bytes)>;

// Throws lmc::Error naming the document if it cannot be read, is corrupt, or no longer has the size the
// scan recorded (the file changed in between).
void stream_document(const Corpus& corpus, const DocRef& doc, const ByteSink& sink);

}  // namespace lmc::data
