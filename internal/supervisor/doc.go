// Package supervisor runs the Python process of one mmplugin plugin and owns everything about
// that process: finding the interpreter, starting it with a private bootstrap, the go-plugin style
// handshake, the launch secret on every call in both directions, forwarding its logs, noticing
// when it dies, restarting it with backoff and stopping it in order.
//
// It knows nothing about hooks or API methods. The host registers the generated API and Driver
// services on the supervisor's API server (Config.RegisterAPI) and builds the generated hooks
// client on Supervisor.ClientConn, which always routes to the live Python process.
//
// Why a separate process with its own protocol instead of go-plugin's client: the Mattermost
// server already runs mmplugin-host through go-plugin (netrpc), and the host needs control that
// go-plugin does not give a non-Go child: a minimal environment (the server's may hold database
// credentials), a secret that never appears in the environment or on the command line, restarts
// that keep the host's own connection to the server, and API calls from Python over a plain unix
// socket instead of go-plugin's broker.
package supervisor
