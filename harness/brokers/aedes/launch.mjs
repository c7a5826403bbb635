// flatline's launcher for the aedes broker (harness/brokers/broker_aedes.c):
// node launch.mjs ADDR PORT. Logs to stderr what the runner's log should
// keep: when it listens and each keep-alive timeout it applies.
import net from 'node:net'
import { Aedes } from 'aedes'

const [addr, port] = process.argv.slice(2)
const broker = await Aedes.createBroker()
broker.on('keepaliveTimeout', (client) => {
  console.error(`${new Date().toISOString()} keepalive timeout ${client ? client.id : '?'}`)
})
const server = net.createServer(broker.handle)
server.listen(Number(port), addr, () => console.error(`aedes listening on ${addr}:${port}`))
process.on('SIGTERM', () => { server.close(); broker.close(() => process.exit(0)) })
