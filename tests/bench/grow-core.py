#!/usr/bin/env python3
"""grow-core.py CORE OUT SIZE -- copy an ELF core, its last PT_LOAD made to
end at SIZE bytes, the file extended to SIZE as a sparse hole.

The notes stay those of the real core, so a hash of OUT reads what it
reads of any core; only a tool that reads the whole file pays for SIZE.
"""
import shutil
import struct
import sys

src, out, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
shutil.copyfile(src, out)
with open(out, "r+b") as f:
    ident = f.read(16)
    if ident[:4] != b"\x7fELF" or ident[4] != 2:
        sys.exit("grow-core.py: %s: not a 64-bit ELF file" % src)
    e = "<" if ident[5] == 1 else ">"
    f.seek(32)
    phoff, = struct.unpack(e + "Q", f.read(8))
    f.seek(54)
    phentsize, phnum = struct.unpack(e + "HH", f.read(4))
    last = None
    for i in range(phnum):
        f.seek(phoff + i * phentsize)
        p_type, _, p_offset, _, _, p_filesz = struct.unpack(e + "IIQQQQ", f.read(40))
        if p_type == 1 and (last is None or p_offset + p_filesz > last[1]):
            last = (i, p_offset + p_filesz, p_offset)
    if last is None:
        sys.exit("grow-core.py: %s: no PT_LOAD" % src)
    i, end, p_offset = last
    if size < end:
        sys.exit("grow-core.py: %s already ends at %d" % (src, end))
    filesz = size - p_offset
    f.seek(phoff + i * phentsize + 32)
    f.write(struct.pack(e + "QQ", filesz, filesz))   # p_filesz, p_memsz
    f.truncate(size)
