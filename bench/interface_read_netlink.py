# The netlink alternative to bench/interface_read.mjs, for comparison: one RTM_GETSTATS
# dump (IFLA_STATS_LINK_64: struct rtnl_link_stats64 of every interface), and one
# RTM_GETLINK dump (IFLA_STATS64 among every other link attribute), /proc/net/dev, and,
# in the same language, the sysfs files the agent reads. Run inside the namespace:
#   python3 bench/interface_read_netlink.py ROUNDS
# Prints one JSON line: per read, wall and process CPU time in ms.
import json, os, socket, struct, sys, time

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 50
RTM_GETLINK, RTM_GETSTATS = 18, 94
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
NLMSG_DONE = 3
IFLA_STATS_LINK_64 = 1


def dump(msg_type, body):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.send(struct.pack('=IHHII', 16 + len(body), msg_type, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
    n = 0
    while True:
        data = s.recv(1 << 16)
        off = 0
        while off < len(data):
            length, typ = struct.unpack_from('=IH', data, off)
            if typ == NLMSG_DONE:
                s.close()
                return n
            n += 1
            off += (length + 3) & ~3


def getstats():
    # struct if_stats_msg: family, pad1, pad2, ifindex, filter_mask
    return dump(RTM_GETSTATS, struct.pack('=BBHiI', 0, 0, 0, 0, 1 << (IFLA_STATS_LINK_64 - 1)))


def getlink():
    # struct ifinfomsg
    return dump(RTM_GETLINK, struct.pack('=BBHiII', 0, 0, 0, 0, 0, 0))


STATS = ['rx_dropped', 'rx_missed_errors', 'rx_fifo_errors', 'rx_over_errors', 'tx_dropped']


def sysfs():
    names = os.listdir('/sys/class/net')
    for name in names:
        d = '/sys/class/net/' + name
        open(d + '/ifindex').read()
        for s in STATS:
            open(d + '/statistics/' + s).read()
    return len(names)


def procfs():
    # /proc/net/dev: one file, but rx_dropped + rx_missed_errors folded into one column.
    with open('/proc/net/dev') as f:
        return len(f.read().splitlines()) - 2


def measure(fn):
    fn()
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(ROUNDS):
        n = fn()
    return {
        'interfaces': n,
        'wall_ms': round((time.perf_counter() - t0) * 1000 / ROUNDS, 3),
        'cpu_ms': round((time.process_time() - c0) * 1000 / ROUNDS, 3),
    }


print(json.dumps({'rounds': ROUNDS, 'netlink_getstats': measure(getstats), 'netlink_getlink': measure(getlink), 'sysfs': measure(sysfs), 'proc_net_dev': measure(procfs)}))
