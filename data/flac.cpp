// libFLAC stream decoder driven through callbacks over a ReadAt. Exceptions cannot cross libFLAC's C frames,
// so callbacks record the first failure and abort; the failure is rethrown once control is back in C++.
#include "data/flac.h"

#include <FLAC/stream_decoder.h>

#include <array>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "common/error.h"

namespace lmc::data {
namespace {

void check_bits(unsigned bits) {
  if (bits != 8 && bits != 16 && bits != 24 && bits != 32) {
    throw Error(std::to_string(bits) + "-bit FLAC is not supported (8, 16, 24 or 32)");
  }
}

struct DecodeState {
  const ReadAt* read_at;
  uint64_t size;
  uint64_t pos = 0;
  const PcmSink* on_pcm;
  FlacInfo info;
  bool have_info = false;
  uint64_t frames_decoded = 0;
  std::vector<uint8_t> buffer;
  std::exception_ptr failure;
  std::string decoder_error;
};

FLAC__StreamDecoderReadStatus on_read(const FLAC__StreamDecoder*, FLAC__byte out[], size_t* bytes, void* data) {
  auto* s = static_cast<DecodeState*>(data);
  size_t take = static_cast<size_t>(std::min<uint64_t>(*bytes, s->size - s->pos));
  if (take == 0) {
    *bytes = 0;
    return FLAC__STREAM_DECODER_READ_STATUS_END_OF_STREAM;
  }
  try {
    (*s->read_at)(s->pos, std::span<uint8_t>(out, take));
  } catch (...) {
    s->failure = std::current_exception();
    return FLAC__STREAM_DECODER_READ_STATUS_ABORT;
  }
  s->pos += take;
  *bytes = take;
  return FLAC__STREAM_DECODER_READ_STATUS_CONTINUE;
}

FLAC__StreamDecoderSeekStatus on_seek(const FLAC__StreamDecoder*, FLAC__uint64 offset, void* data) {
  auto* s = static_cast<DecodeState*>(data);
  if (offset > s->size) return FLAC__STREAM_DECODER_SEEK_STATUS_ERROR;
  s->pos = offset;
  return FLAC__STREAM_DECODER_SEEK_STATUS_OK;
}

FLAC__StreamDecoderTellStatus on_tell(const FLAC__StreamDecoder*, FLAC__uint64* offset, void* data) {
  *offset = static_cast<DecodeState*>(data)->pos;
  return FLAC__STREAM_DECODER_TELL_STATUS_OK;
}

FLAC__StreamDecoderLengthStatus on_length(const FLAC__StreamDecoder*, FLAC__uint64* length, void* data) {
  *length = static_cast<DecodeState*>(data)->size;
  return FLAC__STREAM_DECODER_LENGTH_STATUS_OK;
}

FLAC__bool on_eof(const FLAC__StreamDecoder*, void* data) {
  auto* s = static_cast<DecodeState*>(data);
  return s->pos >= s->size;
}

FLAC__StreamDecoderWriteStatus on_write(const FLAC__StreamDecoder*, const FLAC__Frame* frame,
                                        const FLAC__int32* const channels[], void* data) {
  auto* s = static_cast<DecodeState*>(data);
  try {
    if (!s->have_info) throw Error("audio frame before STREAMINFO");
    const PcmFormat& f = s->info.format;
    if (frame->header.channels != f.channels || frame->header.bits_per_sample != f.bits_per_sample) {
      throw Error("frame at sample " + std::to_string(s->frames_decoded) + " has " +
                  std::to_string(frame->header.channels) + " channels of " +
                  std::to_string(frame->header.bits_per_sample) + " bits, STREAMINFO says " +
                  std::to_string(f.channels) + " of " + std::to_string(f.bits_per_sample));
    }
    unsigned n = frame->header.blocksize;
    unsigned width = f.bits_per_sample / 8;
    s->buffer.resize(size_t{n} * f.channels * width);
    uint8_t* out = s->buffer.data();
    for (unsigned i = 0; i < n; ++i) {
      for (unsigned c = 0; c < f.channels; ++c) {
        int32_t sample = channels[c][i];
        if (width == 1) {
          *out++ = static_cast<uint8_t>(sample + 128);  // WAV stores 8-bit PCM unsigned
        } else {
          auto u = static_cast<uint32_t>(sample);
          for (unsigned b = 0; b < width; ++b) *out++ = static_cast<uint8_t>(u >> (8 * b));
        }
      }
    }
    s->frames_decoded += n;
    (*s->on_pcm)(s->buffer);
  } catch (...) {
    s->failure = std::current_exception();
    return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
  }
  return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE;
}

void on_metadata(const FLAC__StreamDecoder*, const FLAC__StreamMetadata* metadata, void* data) {
  auto* s = static_cast<DecodeState*>(data);
  if (metadata->type != FLAC__METADATA_TYPE_STREAMINFO) return;
  const auto& info = metadata->data.stream_info;
  s->info.format = PcmFormat{info.sample_rate, static_cast<uint16_t>(info.channels),
                             static_cast<uint16_t>(info.bits_per_sample)};
  s->info.total_frames = info.total_samples;
  s->have_info = true;
}

void on_error(const FLAC__StreamDecoder*, FLAC__StreamDecoderErrorStatus status, void* data) {
  auto* s = static_cast<DecodeState*>(data);
  // A tag or junk after the last frame loses sync harmlessly once every recorded sample is out.
  bool after_end = s->info.total_frames != 0 && s->frames_decoded >= s->info.total_frames;
  if (status == FLAC__STREAM_DECODER_ERROR_STATUS_LOST_SYNC && after_end) return;
  if (s->decoder_error.empty()) {
    s->decoder_error = std::string(FLAC__StreamDecoderErrorStatusString[status]) + " at sample " +
                       std::to_string(s->frames_decoded);
  }
}

FlacInfo run_decoder(const ReadAt& read_at, uint64_t file_size, const PcmSink& on_pcm) {
  std::unique_ptr<FLAC__StreamDecoder, void (*)(FLAC__StreamDecoder*)> decoder(FLAC__stream_decoder_new(),
                                                                               FLAC__stream_decoder_delete);
  if (!decoder) throw Error("out of memory creating a FLAC decoder");
  FLAC__stream_decoder_set_md5_checking(decoder.get(), true);
  DecodeState state{&read_at, file_size, 0, &on_pcm, {}, false, 0, {}, nullptr, {}};
  auto init = FLAC__stream_decoder_init_stream(decoder.get(), on_read, on_seek, on_tell, on_length, on_eof,
                                               on_write, on_metadata, on_error, &state);
  if (init != FLAC__STREAM_DECODER_INIT_STATUS_OK) {
    throw Error(std::string("cannot start the FLAC decoder: ") + FLAC__StreamDecoderInitStatusString[init]);
  }
  bool ok = FLAC__stream_decoder_process_until_end_of_stream(decoder.get());
  if (state.failure) std::rethrow_exception(state.failure);
  if (!state.decoder_error.empty()) throw Error("corrupt FLAC stream: " + state.decoder_error);
  if (!ok || !state.have_info) {
    throw Error(std::string("corrupt FLAC stream: ") + FLAC__stream_decoder_get_resolved_state_string(decoder.get()));
  }
  check_bits(state.info.format.bits_per_sample);
  if (state.info.total_frames != 0 && state.frames_decoded != state.info.total_frames) {
    throw Error("FLAC stream ended after " + std::to_string(state.frames_decoded) + " of " +
                std::to_string(state.info.total_frames) + " samples (truncated?)");
  }
  if (!FLAC__stream_decoder_finish(decoder.get())) {
    throw Error("FLAC MD5 signature mismatch: the decoded audio is not what was encoded");
  }
  state.info.total_frames = state.frames_decoded;
  return state.info;
}

uint32_t be_bits(const uint8_t* p, unsigned first_bit, unsigned count) {
  uint64_t value = 0;
  for (unsigned i = 0; i < count; ++i) {
    unsigned bit = first_bit + i;
    value = (value << 1) | ((p[bit / 8] >> (7 - bit % 8)) & 1u);
  }
  return static_cast<uint32_t>(value);
}

FlacInfo parse_info(const ReadAt& read_at, uint64_t file_size) {
  uint64_t pos = 0;
  std::array<uint8_t, 10> id3;
  if (file_size >= id3.size()) {
    read_at(0, id3);
    if (std::memcmp(id3.data(), "ID3", 3) == 0) {
      uint64_t tag = (uint64_t{id3[6] & 0x7Fu} << 21) | (uint64_t{id3[7] & 0x7Fu} << 14) |
                     (uint64_t{id3[8] & 0x7Fu} << 7) | uint64_t{id3[9] & 0x7Fu};
      pos = 10 + tag + ((id3[5] & 0x10) ? 10 : 0);
    }
  }
  std::array<uint8_t, 4 + 4 + 34> head;
  if (pos + head.size() > file_size) throw Error("file too short for a FLAC header");
  read_at(pos, head);
  if (std::memcmp(head.data(), "fLaC", 4) != 0) throw Error("not a FLAC file (no fLaC marker)");
  if ((head[4] & 0x7F) != 0) throw Error("corrupt FLAC header: first metadata block is not STREAMINFO");
  const uint8_t* info = head.data() + 8 + 10;  // skip block/frame size bounds
  FlacInfo result;
  result.format.sample_rate = be_bits(info, 0, 20);
  result.format.channels = static_cast<uint16_t>(be_bits(info, 20, 3) + 1);
  result.format.bits_per_sample = static_cast<uint16_t>(be_bits(info, 23, 5) + 1);
  result.total_frames = (uint64_t{be_bits(info, 28, 4)} << 32) | be_bits(info, 32, 32);
  check_bits(result.format.bits_per_sample);
  if (result.format.sample_rate == 0) throw Error("corrupt FLAC header: sample rate 0");
  return result;
}

}  // namespace

FlacInfo read_flac_info(const ReadAt& read_at, uint64_t file_size) {
  return with_context("FLAC", [&] { return parse_info(read_at, file_size); });
}

FlacInfo decode_flac(const ReadAt& read_at, uint64_t file_size, const PcmSink& on_pcm) {
  return with_context("FLAC", [&] {
    parse_info(read_at, file_size);
    return run_decoder(read_at, file_size, on_pcm);
  });
}

DecodedAudio decode_flac(std::span<const uint8_t> file) {
  ReadAt read_at = [file](uint64_t offset, std::span<uint8_t> out) {
    if (offset + out.size() > file.size()) throw Error("read past the end of the FLAC data");
    std::memcpy(out.data(), file.data() + offset, out.size());
  };
  DecodedAudio audio;
  PcmSink sink = [&](std::span<const uint8_t> pcm) { audio.pcm.insert(audio.pcm.end(), pcm.begin(), pcm.end()); };
  audio.format = decode_flac(read_at, file.size(), sink).format;
  return audio;
}

}  // namespace lmc::data
