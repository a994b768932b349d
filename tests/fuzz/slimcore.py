#!/usr/bin/env python3
"""slimcore.py IN OUT [MAXSEG] - a small but real ELF core for fuzz seeds.

Keeps the ELF header, program headers and notes of a real core, and the
contents of the PT_LOAD segments of at most MAXSEG bytes (default 8192:
the first pages of mapped ELF files, with their build-id notes); bigger
segments keep their addresses but lose their file bytes (p_filesz 0,
as for a mapping the kernel does not dump).  Segments are laid out
again, one after the other.  64-bit little-endian cores only.
"""
import struct
import sys


def main(src, dst, maxseg=8192):
    data = open(src, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit("slimcore: 64-bit little-endian ELF only")
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    phdrs = [list(struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize))
             for i in range(phnum)]
    out = bytearray(data[:64])
    struct.pack_into("<Q", out, 32, 64)
    body_at = 64 + phnum * phentsize
    bodies = bytearray()
    for p in phdrs:
        ptype, _, off, _, _, filesz = p[:6]
        keep = ptype == 4 or filesz <= maxseg
        content = data[off:off + filesz] if keep else b""
        while (body_at + len(bodies)) % 8:
            bodies += b"\0"
        p[2] = body_at + len(bodies)
        p[5] = len(content)
        bodies += content
    for p in phdrs:
        out += struct.pack("<IIQQQQQQ", *p)
    out += bodies
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 8192)
