/*
 * bloom.c - the block filters of the index's summary (sidecar.c):
 * split-block Bloom filters, as Parquet keeps per column chunk.  A
 * filter is a row of 32-byte buckets; a key picks one bucket by its
 * high half and sets one bit in each of the bucket's eight words by its
 * low half, so a lookup reads one cache line.  Each block hashes the
 * keys again with its own number: values recur from block to block
 * (commands, nodes), and a key whose bits such values happen to cover
 * would otherwise pass in most blocks (6% of them for some keys in the
 * benchmark index), not in 0.13%.  At BITS bits a key the false positive
 * rate measured is 0.13% (0.03% for a block of 50 keys); a filter takes
 * 2 bytes a distinct key, about 1.6% of the base.
 */
#include "index/index.h"

#define BITS	16	/* bits a distinct key */

static const uint32_t salt[8] = {
	0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU,
	0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U
};

size_t
bloom_buckets(size_t nkeys)
{
	return ((nkeys * BITS + 255) / 256);
}

/* The key as block seed sees it (murmur3's finaliser). */
static uint64_t
rehash(uint64_t key, uint64_t seed)
{
	key ^= seed * UINT64_C(0x9e3779b97f4a7c15);
	key ^= key >> 33;
	key *= UINT64_C(0xff51afd7ed558ccd);
	key ^= key >> 33;
	key *= UINT64_C(0xc4ceb9fe1a85ec53);
	return (key ^ (key >> 33));
}

static uint32_t *
bucket(uint32_t *f, size_t nb, uint64_t key)
{
	return (f + 8 * (size_t)(((key >> 32) * (uint64_t)nb) >> 32));
}

void
bloom_add(uint32_t *f, size_t nb, uint64_t key, uint64_t seed)
{
	uint32_t *b, x;
	int i;

	key = rehash(key, seed);
	b = bucket(f, nb, key);
	x = (uint32_t)key;
	for (i = 0; i < 8; i++)
		b[i] |= UINT32_C(1) << ((x * salt[i]) >> 27);
}

int
bloom_may(const uint32_t *f, size_t nb, uint64_t key, uint64_t seed)
{
	const uint32_t *b;
	uint32_t x;
	int i;

	key = rehash(key, seed);
	b = bucket((uint32_t *)f, nb, key);
	x = (uint32_t)key;
	for (i = 0; i < 8; i++)
		if (!(b[i] & (UINT32_C(1) << ((x * salt[i]) >> 27))))
			return (0);
	return (1);
}
