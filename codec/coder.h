// The coder's public face for the compress/decompress driver: the range coder, logit -> frequency
// tables, the adaptive bit coder and the archive container, plus the two calls that join a frequency
// table to the coder. Nothing here runs a model or depends on LibTorch.
#pragma once

#include "codec/adaptive_bits.h"
#include "codec/container.h"
#include "codec/frequencies.h"
#include "codec/range_coder.h"

namespace lmc {

inline void encode_symbol(RangeEncoder& encoder, const FrequencyTable& table, int symbol) {
  encoder.encode(table.cum(symbol), table.freq(symbol), table.total_bits());
}

inline int decode_symbol(RangeDecoder& decoder, const FrequencyTable& table) {
  FrequencyTable::Slot slot = table.find(decoder.target(table.total_bits()));
  decoder.consume(slot.cum, slot.freq);
  return slot.symbol;
}

}  // namespace lmc
