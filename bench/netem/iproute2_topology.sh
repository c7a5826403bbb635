#!/bin/sh
# The same topology as fl_netem_build with the iproute2 tools, for
# bench_netem: a switch namespace with a bridge, a broker and N client hosts,
# each a namespace with a veth into the bridge, one address, IPv6 and
# link-local IGMP reports off, lo up.
#   iproute2_topology.sh up PREFIX N      build
#   iproute2_topology.sh down PREFIX N    tear down
set -eu
action=$1 prefix=$2 n=$3
sw="$prefix-sw"

host_up() { # name index address
    ns="$prefix-$1"
    ip netns add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 net.ipv4.igmp_link_local_mcast_reports=0
    ip -n "$ns" link set lo up
    ip -n "$sw" link add "p$2" type veth peer name eth0 netns "$ns"
    ip -n "$sw" link set "p$2" master sw0 up
    ip -n "$ns" addr add "$3/15" dev eth0
    ip -n "$ns" link set eth0 up
}

case "$action" in
up)
    ip netns add "$sw"
    ip netns exec "$sw" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1
    ip -n "$sw" link add sw0 type bridge
    ip -n "$sw" link set sw0 up
    host_up broker 0 198.18.0.1
    i=0
    while [ "$i" -lt "$n" ]; do
        host_up "g0-$i" $((i + 1)) "198.18.$((1 + (i + 1) / 254)).$((1 + (i + 1) % 254))"
        i=$((i + 1))
    done
    ;;
down)
    i=0
    while [ "$i" -lt "$n" ]; do
        ip netns del "$prefix-g0-$i"
        i=$((i + 1))
    done
    ip netns del "$prefix-broker"
    ip netns del "$sw"
    ;;
*)
    echo "usage: $0 up|down PREFIX N" >&2
    exit 2
    ;;
esac
