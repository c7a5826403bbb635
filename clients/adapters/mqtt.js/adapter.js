#!/usr/bin/env node
// flatline-adapter-mqtt.js: N MQTT.js clients (npm `mqtt`, pinned by
// package-lock.json, installed by setup.sh) in one node process
// (docs/clients.md), speaking flatline-swarm's interface: --config FILE (the
// swarm's JSON; fields MQTT.js has no equivalent for exit 2 naming the field),
// --events, --control fd:N, the swarm's event lines and exit codes.
//
// The library runs its own keep-alive (lib/KeepaliveManager.js: a timer every
// ceil(K/2), rescheduled by a PINGRESP; PINGREQ on the 2nd tick, "Keepalive
// timeout" on the 3rd) and its own reconnect (reconnectPeriod, fixed).
'use strict'
const fs = require('fs')
const net = require('net')
const os = require('os')
const path = require('path')
const mqtt = require(path.join(__dirname, 'node_modules', 'mqtt'))

const NAME = 'mqtt.js'
const EXIT_USAGE = 2
const REFUSED = {
  strategy: "runs MQTT.js's own keep-alive rule (KeepaliveManager); tune it with keepalive",
  tcp: 'MQTT.js sets no TCP keep-alive or user timeout',
  workload: "publishing is not mapped yet; the adapter's clients are idle",
}
const GROUP_KEYS = new Set(['name', 'clients', 'id_pattern', 'version', 'keepalive', 'clean', 'reconnect', 'will',
  'role', 'subscribe', 'client', 'client_options'])
const OPTIONS = { connect_timeout: 'seconds' }

class Usage extends Error {}
const fail = (p, why) => { throw new Usage(`${p}: ${why}`) }
const nowNs = () => process.hrtime.bigint() // libuv's uv_hrtime: CLOCK_MONOTONIC on Linux

function num (v, p, lo, hi, integer) {
  if (typeof v !== 'number') fail(p, 'must be a number')
  if (integer && !Number.isInteger(v)) fail(p, 'must be an integer')
  if (v < lo || v > hi) fail(p, `must be ${lo}..${hi}`)
  return v
}

function checkPattern (s, p, allowId) {
  if (typeof s !== 'string') fail(p, 'must be a pattern string')
  const names = new Set(['n', 'i', 'group', 'host', 'pid'].concat(allowId ? ['id'] : []))
  const bare = s.replace(/\{\{|\}\}/g, '')
  for (const m of bare.matchAll(/\{([^}]*)\}?/g)) {
    if (!names.has(m[1]) || !m[0].endsWith('}')) fail(p, `unknown placeholder in '${s}'`)
  }
}

function expand (s, v) {
  return s.replace(/\{\{|\}\}|\{([a-z]+)\}/g, (m, k) => (m === '{{' ? '{' : m === '}}' ? '}' : String(v[k])))
}

function parseConfig (file) {
  let cfg
  try { cfg = JSON.parse(fs.readFileSync(file, 'utf8')) } catch (e) { fail(file, e.message) }
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) fail('config', 'must be a JSON object')
  for (const k of Object.keys(cfg)) {
    if (['inflight', 'connect_rate', 'connect_timeout'].includes(k)) {
      fail(k, `${NAME}: the library connects each client on its own; there is no shared connect ramp`)
    }
    if (k === 'sources' && Array.isArray(cfg.sources) && cfg.sources.length) continue
    if (!['broker', 'seed', 'sources', 'groups'].includes(k)) fail(k, 'unknown field')
  }
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(cfg.broker || '')
  if (!m) fail('broker', `'${cfg.broker}' is not ADDR:PORT`)
  if (!Array.isArray(cfg.groups) || !cfg.groups.length) fail('groups', 'must be a non-empty array')
  const groups = cfg.groups.map((g, gi) => {
    const p = `groups[${gi}]`
    if (typeof g !== 'object' || g === null) fail(p, 'must be an object')
    for (const k of Object.keys(g)) {
      if (REFUSED[k]) fail(`${p}.${k}`, `${NAME} ${REFUSED[k]}`)
      if (!GROUP_KEYS.has(k)) fail(`${p}.${k}`, 'unknown field')
    }
    if ('client' in g && g.client !== NAME) fail(`${p}.client`, `this program is the ${NAME} adapter`)
    if ('version' in g && g.version !== 4) fail(`${p}.version`, `${NAME} runs MQTT 3.1.1 (4) only`)
    const opts = g.client_options || {}
    for (const k of Object.keys(opts)) {
      if (!OPTIONS[k]) fail(`${p}.client_options.${k}`, `${NAME} has no such option`)
      num(opts[k], `${p}.client_options.${k}`, 0, 1e9, false)
    }
    if (!('clients' in g)) fail(`${p}.clients`, 'required')
    const out = {
      name: g.name || p,
      clients: num(g.clients, `${p}.clients`, 0, 1e6, true),
      idPattern: g.id_pattern || '{host}-{pid}-{group}-{n}',
      keepalive: 'keepalive' in g ? num(g.keepalive, `${p}.keepalive`, 0, 65535, true) : 60,
      clean: g.clean !== false,
      role: g.role || 'device',
      will: g.will || null,
      options: opts,
    }
    if (!['device', 'watcher'].includes(out.role)) fail(`${p}.role`, 'must be device or watcher')
    out.subscribe = g.subscribe || (out.role === 'watcher' ? ['will/#'] : [])
    checkPattern(out.idPattern, `${p}.id_pattern`, false)
    out.subscribe.forEach((s, i) => checkPattern(s, `${p}.subscribe[${i}]`, true))
    if (out.will) {
      checkPattern(out.will.topic, `${p}.will.topic`, true)
      checkPattern(out.will.payload, `${p}.will.payload`, true)
    }
    const r = g.reconnect || { kind: 'none' }
    if (!['none', 'fixed', 'backoff'].includes(r.kind)) fail(`${p}.reconnect.kind`, 'must be none, fixed or backoff')
    if (r.kind === 'backoff') {
      fail(`${p}.reconnect`, `${NAME} reconnects after a fixed reconnectPeriod only: use {"kind":"fixed","delay":S}`)
    }
    out.reconnectMs = r.kind === 'fixed' ? Math.max(1, Math.round(num(r.delay ?? 1, `${p}.reconnect.delay`, 0, 1e6) * 1000)) : 0
    return out
  })
  return { host: m[1], port: Number(m[2]), groups }
}

function parseArgs (argv) {
  const a = { logPings: false }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const val = () => { if (i + 1 >= argv.length) fail(k, 'needs a value'); return argv[++i] }
    if (k === '--config') a.config = val()
    else if (k === '--events') a.events = val()
    else if (k === '--control') a.control = val()
    else if (k === '--broker') a.broker = val()
    else if (k === '--seed') val()
    else if (k === '--duration') a.duration = Number(val())
    else if (k === '--log-pings') a.logPings = true
    else fail(k, 'unknown option')
  }
  if (!a.config) fail('--config', 'FILE is needed')
  return a
}

function openSpec (spec, write) {
  if (spec === '-') return 1
  if (spec.startsWith('fd:')) {
    const fd = Number(spec.slice(3))
    fs.fstatSync(fd)
    return fd
  }
  if (!write) fail('--control', `'${spec}' is not fd:N`)
  return fs.openSync(spec, 'w')
}

function main () {
  let args, cfg, evFd = null, ctlFd = null
  try {
    args = parseArgs(process.argv.slice(2))
    cfg = parseConfig(args.config)
    if (args.broker) {
      const m = /^\[?(.*?)\]?:(\d+)$/.exec(args.broker)
      if (!m) fail('--broker', `'${args.broker}' is not ADDR:PORT`)
      cfg.host = m[1]; cfg.port = Number(m[2])
    }
    if (args.events) evFd = openSpec(args.events, true)
    if (args.control) ctlFd = openSpec(args.control, false)
  } catch (e) {
    if (!(e instanceof Usage) && !e.code) throw e
    process.stderr.write(`flatline-adapter-${NAME}: ${e.message}\n`)
    return process.exit(EXIT_USAGE)
  }
  const total = cfg.groups.reduce((s, g) => s + g.clients, 0)
  const emit = (t, ev, fields) => {
    if (evFd === null) return
    fs.writeSync(evFd, JSON.stringify(Object.assign({ t: 0, src: 'swarm', ev }, fields)).replace('"t":0', `"t":${t}`) + '\n')
  }
  const st = { ever: 0, connected: 0, dead: 0, reconnects: 0, wills: 0, ready: false, stopping: false }
  const counters = () => emit(nowNs(), 'counters', {
    clients: total, connected: st.connected, connecting: total - st.connected, dead: st.dead,
    reconnects: st.reconnects, wills: st.wills, library: NAME,
  })
  const all = []
  const stop = () => {
    if (st.stopping) return
    st.stopping = true
    let left = all.length
    const done = () => { if (--left <= 0) { counters(); process.exit(0) } }
    if (!left) { left = 1; done() }
    for (const c of all) c.end(false, {}, done)
    setTimeout(() => { counters(); process.exit(0) }, 3000).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  if (args.duration > 0) setTimeout(stop, args.duration * 1000)
  if (ctlFd !== null) {
    // A socket over the pipe, not fs.createReadStream: a blocking read in the
    // thread pool would keep process.exit from returning.
    const s = new net.Socket({ fd: ctlFd, readable: true, writable: false })
    let buf = ''
    s.on('data', (d) => {
      buf += d
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const cmd = buf.slice(0, i).trim()
        buf = buf.slice(i + 1)
        if (cmd === 'stop') stop()
        else if (cmd === 'kill') process.exit(0)
        else if (cmd === 'counters') counters()
      }
    })
    s.on('error', () => {})
  }
  const host = os.hostname()
  let index = 0
  for (const g of cfg.groups) {
    for (let n = 0; n < g.clients; n++, index++) {
      const v = { n, i: index, group: g.name, host, pid: process.pid }
      const c = { id: expand(g.idPattern, v), conn: '?', connected: false, ever: false, attempt: 0, why: '' }
      v.id = c.id
      const o = {
        clientId: c.id, keepalive: g.keepalive, clean: g.clean, protocolVersion: 4, reconnectPeriod: g.reconnectMs,
        connectTimeout: (g.options.connect_timeout ?? 30) * 1000,
      }
      if (g.will) {
        o.will = { topic: expand(g.will.topic, v), payload: expand(g.will.payload, v), qos: g.will.qos || 0, retain: !!g.will.retain }
      }
      const m = mqtt.connect(`mqtt://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${cfg.port}`, o)
      all.push(m)
      m.on('connect', () => {
        const t = nowNs()
        const s = m.stream
        c.conn = s && s.localAddress ? `${s.localAddress.includes(':') ? `[${s.localAddress}]` : s.localAddress}:${s.localPort}` : '?'
        c.connected = true
        st.connected++
        emit(t, 'connected', { client_id: c.id, conn: c.conn, broker: `${cfg.host}:${cfg.port}`, keepalive: g.keepalive, group: g.name, attempt: c.attempt })
        if (c.ever) {
          st.reconnects++
          emit(t, 'reconnected', { client_id: c.id, conn: c.conn, attempt: c.attempt })
        } else {
          c.ever = true
          if (++st.ever === total && !st.ready) { st.ready = true; emit(t, 'ready', { clients: total }) }
        }
        for (const s of g.subscribe) m.subscribe(expand(s, v), { qos: 1 })
      })
      m.on('error', (e) => { c.why = e.message || String(e) })
      m.on('close', () => {
        const t = nowNs()
        if (st.stopping || !c.connected) { c.why = ''; return }
        c.connected = false
        st.connected--
        st.dead++
        const why = c.why || 'close'
        c.why = ''
        const reason = /Keepalive timeout/.test(why) ? 'ping_timeout' : /ECONNRESET/.test(why) ? 'reset' : /ETIMEDOUT/.test(why) ? 'retransmit_timeout' : 'eof'
        emit(t, 'dead_detected', { client_id: c.id, conn: c.conn, reason, library_reason: why, group: g.name })
      })
      m.on('reconnect', () => { c.attempt++ })
      m.on('message', (topic, payload, packet) => {
        if (g.role !== 'watcher') return
        st.wills++
        emit(nowNs(), 'will_received', { client_id: c.id, conn: c.conn, group: g.name, whose: payload.toString(), topic, retained: !!packet.retain })
      })
      if (args.logPings) {
        m.on('packetreceive', (p) => {
          if (p.cmd === 'pingresp') emit(nowNs(), 'pingresp', { client_id: c.id, conn: c.conn, group: g.name })
        })
      }
    }
  }
}

main()
