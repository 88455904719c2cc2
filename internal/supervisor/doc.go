// Package supervisor runs the Python process of one mmplugin plugin and owns everything about
// that process: finding the interpreter, starting it with a private bootstrap, the go-plugin style
// handshake, the launch secret on every call in both directions, forwarding its logs, noticing
// when it dies, restarting it with backoff and stopping it in order.
//
// It knows nothing about hooks or API methods. The host registers the generated API and Driver
// services through Config.RegisterAPI and builds the generated hooks client on
// Supervisor.ClientConn, which always routes to the live Python process.
//
// Three unix sockets live in the private directory: plugin.sock (the Python process's gRPC
// server: health, Handshake, Shutdown, streaming hooks), api.sock (the host's gRPC server for the
// API and Driver) and calls.sock (internal/framed: unary calls as length-prefixed protobuf frames,
// several times cheaper for Python than unary gRPC). On calls.sock the Python process opens API
// connections, answered in order, and one hooks connection on which the host sends the unary
// hooks; it opens that before answering Handshake (framed_hooks), and Start or a restart fails if
// it does not arrive. Every connection's first frame carries the launch secret.
//
// Why a separate process with its own protocol instead of go-plugin's client: the Mattermost
// server already runs mmplugin-host through go-plugin (netrpc), and the host needs control that
// go-plugin does not give a non-Go child: a minimal environment (the server's may hold database
// credentials), a secret that never appears in the environment or on the command line, restarts
// that keep the host's own connection to the server, and API calls from Python over a plain unix
// socket instead of go-plugin's broker.
package supervisor
