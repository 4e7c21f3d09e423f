/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* The ABI of symbols.bpf.c: user space takes the name's length from the map's value size. */
#ifndef SYMBOLS_H
#define SYMBOLS_H

/* Room for "function+0x1234/0x5678 [module]"; longer names are cut, still 0-terminated. */
#define SYMBOL_NAME_LEN 256

#endif
