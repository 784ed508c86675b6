#!/usr/bin/env python3
"""Writes a synthetic .snmprec walk for one of snmp-ups' daisy-chain mappings, from the
mapping table itself (nut-core/src/snmp_mibs.tsv): every OID of the table, at device
and item indexes 0..4, with values derived from the variable's name (lookups take one
of their own values). No recorded walk of these PDUs was found; the walk is for the
differential test, where Debian's snmp-ups 2.8.0 is the oracle of what NUT makes of it.

Usage: synthetic-walk.py <snmp_mibs.tsv> <mib name> <sysObjectID> <unitsPresent>
"""
import sys, zlib
tsv = sys.argv[1]
mib_name = sys.argv[2]
sysoid = sys.argv[3]
units = sys.argv[4]  # unitsPresent string, e.g. "0" or "0,1"
entries, lookups = [], {}
m = None
for l in open(tsv):
    f = l.rstrip('\n').split('\t')
    if f[0] == 'mib':
        m = f[1]
    elif f[0] == 'lkp':
        lookups.setdefault(f[1], []).append(f)
    elif f[0] == 'info' and m == mib_name:
        entries.append(f)
objs = {}
def put(oid, tag, val):
    oid = oid.lstrip('.')
    objs.setdefault(oid, (tag, val))
put('1.3.6.1.2.1.1.1.0', 4, 'Eaton ePDU synthetic')
put('1.3.6.1.2.1.1.2.0', 6, sysoid)
put('1.3.6.1.2.1.1.4.0', 4, 'admin')
put('1.3.6.1.2.1.1.6.0', 4, 'rack 9')
put('1.3.6.1.2.1.2.2.1.6.2', '4x', '002085f461be')
put('1.3.6.1.4.1.534.6.6.7.1.1.0', 4, units)
for i in range(0, 5):
    put('1.3.6.1.4.1.534.6.6.7.1.2.1.22.%d' % i, 2, '4')
put('1.3.6.1.4.1.534.6.8.1.1.1.0', 2, '1')
for f in entries:
    name, info_flags, info_len, oid, dfl, flags, lk = f[1], int(f[2]), float(f[3]), f[4], f[5], int(f[6]), f[7]
    if oid == '\\N' or (name == 'device.count' and mib_name == 'eaton_epdu'):
        continue
    if name == 'device.count':
        put(oid.replace('%i', '0'), 2, '1')
        continue
    h = zlib.crc32(name.encode())
    def value():
        if name.endswith('.count'):
            return 2, '1' if name.startswith('ambient') else '4'
        if lk != '\\N' and lk in lookups and lookups[lk][0][4] == '\\N':
            rows = lookups[lk]
            return 2, rows[h % len(rows)][2]
        if info_flags & 2:
            return 4, 'v-' + name.replace('%i', 'n')
        return 2, str(1000 + h % 5000)
    n = oid.count('%i')
    if n == 0:
        put(oid, *value())
    elif n == 1:
        for i in range(0, 5):
            put(oid.replace('%i', str(i), 1), *value())
    else:
        for a in range(0, 5):
            for b in range(0, 5):
                put(oid.replace('%i', str(a), 1).replace('%i', str(b), 1), *value())
# counts: outlets per unit
for i in range(0, 5):
    put('1.3.6.1.4.1.534.6.6.7.1.2.1.22.%d' % i, 2, '4')
def key(o):
    return [int(x) for x in o.split('.')]
for o in sorted(objs, key=key):
    tag, val = objs[o]
    print(f'{o}|{tag}|{val}')
