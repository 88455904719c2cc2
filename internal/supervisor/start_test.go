package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestStartHandshakeAndHealth(t *testing.T) {
	dir := writePlugin(t, map[string]string{"plug.py": testPlugin + `
import json
with open(os.path.join(os.getcwd(), "env.json"), "w") as f:
    json.dump(dict(os.environ), f)
`})
	cfg, logs := testConfig(t, dir)
	cfg.Environ = append(cfg.Environ,
		"MM_SQLSETTINGS_DATASOURCE=postgres://mmuser:hunter2@db/mattermost",
		"AWS_SECRET_ACCESS_KEY=nope",
		"MMPLUGIN_FEATURE=on",
		"LC_ALL=C.UTF-8",
		"HTTPS_PROXY=http://proxy:3128",
		PassEnvVar+"=HTTPS_PROXY")
	s := startSupervisor(t, cfg)

	if got := s.ImplementedHooks(); strings.Join(got, ",") != "OnActivate,MessageWillBePosted" {
		t.Errorf("ImplementedHooks = %v", got)
	}
	info := s.Handshake()
	if info.ProtocolVersion != 1 || !strings.HasPrefix(info.SDK, "mmplugin-python ") ||
		!strings.HasPrefix(info.RuntimeVersion, "CPython 3.") {
		t.Errorf("Handshake = %+v", info)
	}
	if s.Interpreter().Source != "$MMPLUGIN_PYTHON" || s.Interpreter().Version[0] != 3 {
		t.Errorf("Interpreter = %+v", s.Interpreter())
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	resp, err := healthpb.NewHealthClient(s.ClientConn()).Check(context.Background(),
		&healthpb.HealthCheckRequest{Service: HealthService})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health via ClientConn: %v %v", resp, err)
	}
	// A plugin-registered service answers through ClientConn too.
	out := &wrapperspb.StringValue{}
	if err := s.ClientConn().Invoke(context.Background(), "/mmtest.Test/Echo", wrapperspb.String("hi"), out); err != nil || out.GetValue() != "hi" {
		t.Fatalf("Echo: %q %v", out.GetValue(), err)
	}

	// The socket directory is private.
	fi, err := os.Stat(s.socketDir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("socket dir %s: mode %v, %v", s.socketDir, fi.Mode().Perm(), err)
	}
	// Minimal environment: no server secrets, explicit MMPLUGIN_* and pass-through names only.
	envData, err := os.ReadFile(filepath.Join(dir, "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	env := string(envData)
	for _, banned := range []string{"MM_SQLSETTINGS_DATASOURCE", "hunter2", "AWS_SECRET_ACCESS_KEY"} {
		if strings.Contains(env, banned) {
			t.Errorf("the Python process's environment contains %s: %s", banned, env)
		}
	}
	for _, want := range []string{`"MMPLUGIN_FEATURE": "on"`, `"LC_ALL": "C.UTF-8"`, `"HTTPS_PROXY"`, `"PATH"`, `"HOME"`} {
		if !strings.Contains(env, want) {
			t.Errorf("the Python process's environment lacks %s: %s", want, env)
		}
	}
	// The secret is in neither argv nor the environment of the child, nor in any log line.
	secret := *s.guard.current.Load()
	for _, f := range []string{"cmdline", "environ"} {
		data, err := os.ReadFile(filepath.Join("/proc", itoa(s.PID()), f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), secret) {
			t.Errorf("/proc/<pid>/%s contains the launch secret", f)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Error("the log contains the launch secret")
	}
	started := logs.waitFor(t, "Python process started", time.Second)
	if started["sdk"] != info.SDK {
		t.Errorf("start log entry = %v", started)
	}
}

func TestSecretRequiredOnBothSockets(t *testing.T) {
	dir := writePlugin(t, map[string]string{"plug.py": testPlugin})
	cfg, _ := testConfig(t, dir)
	health := newHealthServer()
	cfg.RegisterAPI = func(srv grpc.ServiceRegistrar) { healthpb.RegisterHealthServer(srv, health) }
	s := startSupervisor(t, cfg)
	secret := *s.guard.current.Load()

	check := func(t *testing.T, socket string, creds grpc.DialOption) error {
		opts := []grpc.DialOption{grpcInsecure()}
		if creds != nil {
			opts = append(opts, creds)
		}
		conn, err := grpc.NewClient("unix://"+socket, opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: HealthService})
		return err
	}
	for _, socket := range []string{s.apiSocket, s.pluginSocket} {
		name := filepath.Base(socket)
		t.Run(name, func(t *testing.T) {
			if err := check(t, socket, nil); status.Code(err) != codes.Unauthenticated ||
				!strings.Contains(status.Convert(err).Message(), "launch secret") {
				t.Errorf("no secret: got %v, want Unauthenticated", err)
			}
			wrong := secret[:len(secret)-1] + string('A'+(secret[len(secret)-1]+1)%26)
			if err := check(t, socket, grpc.WithPerRPCCredentials(secretCreds{wrong})); status.Code(err) != codes.Unauthenticated {
				t.Errorf("wrong secret: got %v, want Unauthenticated", err)
			}
			if err := check(t, socket, grpc.WithPerRPCCredentials(secretCreds{secret})); err != nil {
				t.Errorf("right secret: %v", err)
			}
		})
	}

	// An unknown method on the API socket: refused without the secret, explained with it.
	conn, err := grpc.NewClient("unix://"+s.apiSocket, grpcInsecure(), grpc.WithPerRPCCredentials(secretCreds{secret}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Invoke(context.Background(), "/mmplugin.v1.PluginAPIService/FutureMethod", wrapperspb.String(""), &wrapperspb.StringValue{})
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "upgrade mmplugin-host") {
		t.Errorf("unknown method: %v", err)
	}

	// A second local process (Python, grpcio) without the secret is refused too.
	out := runPython(t, `
import sys, grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
ch = grpc.insecure_channel("unix:" + sys.argv[1])
try:
    health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service="plugin"), timeout=5)
    print("ACCEPTED")
except grpc.RpcError as e:
    print(e.code().name)
`, s.apiSocket)
	if strings.TrimSpace(out) != "UNAUTHENTICATED" {
		t.Errorf("python client without secret: %q", out)
	}
}

func TestPythonCallsAPIWithSecret(t *testing.T) {
	// The runtime's api_channel() adds the secret: the plugin's own call to the host succeeds.
	dir := writePlugin(t, map[string]string{"plug.py": `
import asyncio, logging
from grpc_health.v1 import health_pb2, health_pb2_grpc
from mmplugin._runtime import Binding, register_binder

log = logging.getLogger("apiuser")

class Plugin:
    pass

async def call_api(ctx):
    stub = health_pb2_grpc.HealthStub(ctx.api_channel())
    resp = await stub.Check(health_pb2.HealthCheckRequest(service="api"), timeout=5)
    log.info("api answered", extra={"status": health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)})

def bind(plugin, ctx):
    asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(call_api(ctx)))
    return Binding()

register_binder(bind)
`})
	cfg, logs := testConfig(t, dir)
	health := newHealthServer()
	health.SetServingStatus("api", healthpb.HealthCheckResponse_SERVING)
	cfg.RegisterAPI = func(srv grpc.ServiceRegistrar) { healthpb.RegisterHealthServer(srv, health) }
	startSupervisor(t, cfg)
	e := logs.waitFor(t, "api answered", 10*time.Second)
	if e["status"] != "SERVING" || e["logger"] != "apiuser" {
		t.Errorf("entry = %v", e)
	}
}
