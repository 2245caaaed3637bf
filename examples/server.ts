// Our version of the tutorial's server.py:
//   with socketserver.TCPServer(("", PORT), http.server.SimpleHTTPRequestHandler) as httpd:
//       print("serving at port", PORT)
//       httpd.serve_forever()
import Fastify from 'fastify'
import serveDir from 'fastify-serve-dir'

const PORT = Number(process.env.PORT ?? 8080)

const app = Fastify({ logger: true })
app.register(serveDir, { root: process.cwd() })

// The tutorial's "" listens on every interface; this stays on this machine ('0.0.0.0' shares it).
app.listen({ port: PORT, host: '127.0.0.1' }).then(() => {
  const { port } = app.server.address() as { port: number }
  console.log('serving at port', port)
})
