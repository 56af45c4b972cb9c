#ifndef GATEWATCH_CBYTESCAN_SHIM_H
#define GATEWATCH_CBYTESCAN_SHIM_H
// The W3C tokenizer's plain-line split with SSE2 (x86-64's baseline): sixteen bytes per step, each
// byte class found with one compare and the positions read from a movemask. Swift has no portable
// movemask, and its eight-byte word version (W3CParser.splitPlain, kept for other machines) was
// most of the parser's time.
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// Splits `base[begin..<count]` on runs of spaces and tabs: the start and end offset of each token
/// into `starts` and `ends`, and returns the number of tokens; -1 when the line holds a double
/// quote, a carriage return or a NUL, or more than `capacity` tokens; -2 on a machine without SSE2. `begin` is at the first byte
/// of the first token; `starts` and `ends` have room for 8 more than `capacity` (a step of sixteen
/// bytes starts at most eight tokens before the count is checked).
static inline long gw_split_plain(const uint8_t *base, long begin, long count, int32_t *starts, int32_t *ends,
                                  long capacity) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i carriageReturn = _mm_set1_epi8('\r');
    const __m128i zero = _mm_setzero_si128();
    const __m128i space = _mm_set1_epi8(' ');
    const __m128i tab = _mm_set1_epi8('\t');
    long tokens = 0;
    long ended = 0;
    unsigned inToken = 0;  // whether the byte before `index` belongs to a token
    long index = begin;
    while (index < count) {
        __m128i bytes;
        if (index + 16 <= count) {
            bytes = _mm_loadu_si128((const __m128i *)(base + index));
        } else {
            // The last bytes, padded with spaces: a token running to the end ends at `count`.
            uint8_t tail[16];
            memset(tail, ' ', sizeof tail);
            memcpy(tail, base + index, (size_t)(count - index));
            bytes = _mm_loadu_si128((const __m128i *)tail);
        }
        const __m128i special = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, carriageReturn)),
            _mm_cmpeq_epi8(bytes, zero));
        if (_mm_movemask_epi8(special) != 0) return -1;
        const unsigned separators =
            (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(bytes, space), _mm_cmpeq_epi8(bytes, tab)));
        const unsigned inside = ~separators & 0xFFFFu;
        // Each byte's flag against the flag of the byte before it: where tokens start and end.
        const unsigned before = ((inside << 1) | inToken) & 0xFFFFu;
        unsigned startBits = inside & ~before;
        unsigned endBits = ~inside & before;
        while (startBits != 0) {
            starts[tokens++] = (int32_t)(index + __builtin_ctz(startBits));
            startBits &= startBits - 1;
        }
        while (endBits != 0) {
            ends[ended++] = (int32_t)(index + __builtin_ctz(endBits));
            endBits &= endBits - 1;
        }
        if (tokens > capacity) return -1;
        inToken = inside >> 15;
        index += 16;
    }
    // A line whose last step was a whole sixteen bytes may end inside a token.
    if (inToken != 0) ends[ended] = (int32_t)count;
    return tokens;
#else
    (void)base, (void)begin, (void)count, (void)starts, (void)ends, (void)capacity;
    return -2;
#endif
}
#endif
