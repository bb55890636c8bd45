// Command controlplane runs a real Kubernetes control plane for tests and the
// local demo: etcd (embedded, in-process) and kube-apiserver, both on
// 127.0.0.1, with no kubelet, no controllers and no downloads.
//
// It writes certificates, a service-account key pair, a static token file
// (an admin in system:masters and one ServiceAccount user) and two
// kubeconfigs into --dir, then prints KEY=value lines on stdout once /readyz
// answers:
//
//	APISERVER=https://127.0.0.1:<port>
//	KUBECONFIG=<dir>/admin.kubeconfig
//	SA_KUBECONFIG=<dir>/sa.kubeconfig
//	SA_USER=system:serviceaccount:<ns>:<name>
//	ETCD=http://127.0.0.1:<port>
//	READY=1
//
// Logs of etcd and kube-apiserver go to stderr. SIGTERM/SIGINT (or stdin
// closing, with --exit-on-stdin-close) shut both down cleanly. Arguments after
// "--" are passed to kube-apiserver unchanged (later flags win).
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

// version is stamped at build time (-ldflags -X main.version=...).
var version = "dev"

type options struct {
	dir            string
	etcdPort       int
	securePort     int
	saNamespace    string
	saName         string
	readyTimeout   time.Duration
	stopTimeout    time.Duration
	exitOnStdin    bool
	keepDir        bool
	removeDir      bool
	printVersion   bool
	apiserverExtra []string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		os.Exit(1)
	}
}

func parseOptions() (options, error) {
	var o options
	fs := flag.NewFlagSet("controlplane", flag.ContinueOnError)
	fs.StringVar(&o.dir, "dir", "", "directory for etcd data, certificates and kubeconfigs (default: a new temporary directory, removed on exit)")
	fs.IntVar(&o.etcdPort, "etcd-port", 0, "etcd client port on 127.0.0.1 (0 = pick a free port)")
	fs.IntVar(&o.securePort, "secure-port", 0, "kube-apiserver HTTPS port on 127.0.0.1 (0 = pick a free port)")
	fs.StringVar(&o.saNamespace, "sa-namespace", "multi-mcp-system", "namespace of the ServiceAccount user in the token file")
	fs.StringVar(&o.saName, "sa-name", "multi-mcp-operator", "name of the ServiceAccount user in the token file")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 120*time.Second, "how long to wait for etcd and /readyz")
	fs.DurationVar(&o.stopTimeout, "stop-timeout", 30*time.Second, "how long a clean shutdown may take before the process exits anyway")
	fs.BoolVar(&o.exitOnStdin, "exit-on-stdin-close", false, "shut down when stdin reaches EOF (so a crashed parent never leaves the control plane behind)")
	fs.BoolVar(&o.keepDir, "keep-dir", false, "keep the temporary directory made when --dir is not given")
	fs.BoolVar(&o.removeDir, "remove-dir", false, "remove --dir on exit (etcd preallocates ~60 MB of WAL there)")
	fs.BoolVar(&o.printVersion, "version", false, "print the Kubernetes version and exit")
	args := os.Args[1:]
	var extra []string
	for i, a := range args {
		if a == "--" {
			extra = args[i+1:]
			args = args[:i]
			break
		}
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q (kube-apiserver flags go after --)", fs.Args())
	}
	o.apiserverExtra = extra
	return o, nil
}

func run() error {
	o, err := parseOptions()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.printVersion {
		fmt.Println(version)
		return nil
	}

	// NewAPIServerCommand installs the SIGTERM/SIGINT handler (first signal
	// cancels its context, a second one exits). Create it first so a signal
	// during etcd startup is handled too, and use its context everywhere.
	cmd := app.NewAPIServerCommand()
	ctx := cmd.Context()

	// A watchdog: once shutdown has begun, never hang longer than stopTimeout.
	go func() {
		<-ctx.Done()
		time.Sleep(o.stopTimeout)
		fmt.Fprintf(os.Stderr, "controlplane: clean shutdown took longer than %s, exiting\n", o.stopTimeout)
		os.Exit(2)
	}()
	if o.exitOnStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			if ctx.Err() == nil { // not already stopping: a second signal would exit at once
				fmt.Fprintln(os.Stderr, "controlplane: stdin closed, shutting down")
				genericapiserver.RequestShutdown()
			}
		}()
	}

	tmpDir := false
	if o.dir == "" {
		d, err := os.MkdirTemp("", "multi-mcp-controlplane-")
		if err != nil {
			return err
		}
		o.dir = d
		tmpDir = true
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if (tmpDir && !o.keepDir) || (!tmpDir && o.removeDir) {
		defer os.RemoveAll(dir)
	}

	if o.etcdPort == 0 {
		if o.etcdPort, err = freePort(); err != nil {
			return err
		}
	}
	peerPort, err := freePort()
	if err != nil {
		return err
	}
	if o.securePort == 0 {
		if o.securePort, err = freePort(); err != nil {
			return err
		}
	}

	files, err := writeCredentials(dir, o)
	if err != nil {
		return fmt.Errorf("writing credentials: %w", err)
	}

	// etcd, in-process.
	etcd, err := startEtcd(ctx, dir, o.etcdPort, peerPort, o.readyTimeout)
	if err != nil {
		return err
	}
	etcdStopped := false
	stopEtcd := func() {
		if !etcdStopped {
			etcdStopped = true
			etcd.Close()
		}
	}
	defer stopEtcd()
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", o.etcdPort)

	// kube-apiserver, in-process.
	apiURL := fmt.Sprintf("https://127.0.0.1:%d", o.securePort)
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(o.securePort),
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + files.saPub,
		"--service-account-signing-key-file=" + files.saKey,
		"--tls-cert-file=" + files.serverCert,
		"--tls-private-key-file=" + files.serverKey,
		"--client-ca-file=" + files.caCert,
		"--token-auth-file=" + files.tokens,
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
		"--profiling=false",
		"--v=0",
	}
	args = append(args, o.apiserverExtra...)
	cmd.SetArgs(args)
	apiDone := make(chan error, 1)
	go func() { apiDone <- cmd.Execute() }()

	started := time.Now()
	readyCtx, cancelReady := context.WithTimeout(ctx, o.readyTimeout)
	readyErr := waitReady(readyCtx, apiURL, files.caCert, files.adminToken, apiDone)
	cancelReady()
	if readyErr != nil {
		if ctx.Err() != nil {
			// Interrupted during startup: fall through to a clean stop.
			readyErr = nil
		} else {
			return fmt.Errorf("kube-apiserver did not become ready: %w", readyErr)
		}
	} else {
		fmt.Fprintf(os.Stderr, "controlplane: kube-apiserver %s ready in %s\n", version, time.Since(started).Round(time.Millisecond))
		fmt.Printf("APISERVER=%s\n", apiURL)
		fmt.Printf("KUBECONFIG=%s\n", files.adminKubeconfig)
		fmt.Printf("SA_KUBECONFIG=%s\n", files.saKubeconfig)
		fmt.Printf("SA_USER=%s\n", files.saUser)
		fmt.Printf("ETCD=%s\n", etcdURL)
		fmt.Printf("DIR=%s\n", dir)
		fmt.Printf("PID=%d\n", os.Getpid())
		fmt.Printf("READY=1\n")
		_ = os.Stdout.Sync()
	}

	select {
	case err := <-apiDone:
		// kube-apiserver stopped on its own (or after a signal).
		if ctx.Err() == nil && err != nil {
			return fmt.Errorf("kube-apiserver exited: %w", err)
		}
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "controlplane: shutting down kube-apiserver")
		if err := <-apiDone; err != nil {
			fmt.Fprintf(os.Stderr, "controlplane: kube-apiserver: %v\n", err)
		}
	}
	fmt.Fprintln(os.Stderr, "controlplane: stopping etcd")
	stopEtcd()
	fmt.Fprintln(os.Stderr, "controlplane: stopped")
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startEtcd(ctx context.Context, dir string, clientPort, peerPort int, timeout time.Duration) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "controlplane"
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.UnsafeNoFsync = true
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", clientPort)}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", peerPort)}
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.ListenMetricsUrls = nil
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd failed: %w", err)
	case <-time.After(timeout):
		e.Close()
		return nil, fmt.Errorf("etcd not ready after %s", timeout)
	case <-ctx.Done():
		e.Close()
		return nil, errors.New("interrupted while starting etcd")
	}
}

func waitReady(ctx context.Context, apiURL, caFile, token string, apiDone <-chan error) error {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	last := "no answer yet"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("/readyz answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		select {
		case err := <-apiDone:
			if err == nil {
				err = errors.New("exited")
			}
			return fmt.Errorf("kube-apiserver exited before it was ready: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %s)", ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

type credentialFiles struct {
	caCert, serverCert, serverKey string
	saKey, saPub                  string
	tokens                        string
	adminToken, saToken, saUser   string
	adminKubeconfig, saKubeconfig string
}

func writeCredentials(dir string, o options) (credentialFiles, error) {
	var f credentialFiles
	now := time.Now()

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "multi-mcp-test-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return f, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return f, err
	}

	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return f, err
	}
	srvKeyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		return f, err
	}

	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return f, err
	}
	saPubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return f, err
	}

	f.caCert = filepath.Join(dir, "ca.crt")
	f.serverCert = filepath.Join(dir, "apiserver.crt")
	f.serverKey = filepath.Join(dir, "apiserver.key")
	f.saKey = filepath.Join(dir, "sa.key")
	f.saPub = filepath.Join(dir, "sa.pub")
	f.tokens = filepath.Join(dir, "tokens.csv")
	f.adminKubeconfig = filepath.Join(dir, "admin.kubeconfig")
	f.saKubeconfig = filepath.Join(dir, "sa.kubeconfig")
	f.adminToken = randomToken()
	f.saToken = randomToken()
	f.saUser = fmt.Sprintf("system:serviceaccount:%s:%s", o.saNamespace, o.saName)

	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	writes := []struct {
		path string
		data []byte
	}{
		{f.caCert, caPEM},
		{f.serverCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER})},
		{f.serverKey, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: srvKeyDER})},
		{f.saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)})},
		{f.saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPubDER})},
		// token,user,uid,"group1,group2"
		{f.tokens, []byte(fmt.Sprintf("%s,admin,admin-uid,\"system:masters\"\n%s,%s,%s-uid,\"system:serviceaccounts,system:serviceaccounts:%s\"\n",
			f.adminToken, f.saToken, f.saUser, o.saName, o.saNamespace))},
		{f.adminKubeconfig, kubeconfig(o.securePort, caPEM, "admin", f.adminToken, "")},
		{f.saKubeconfig, kubeconfig(o.securePort, caPEM, o.saName, f.saToken, o.saNamespace)},
	}
	for _, w := range writes {
		if err := os.WriteFile(w.path, w.data, 0o600); err != nil {
			return f, err
		}
	}
	return f, nil
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func kubeconfig(port int, caPEM []byte, user, token, namespace string) []byte {
	var b strings.Builder
	w := bufio.NewWriter(&b)
	fmt.Fprintf(w, `apiVersion: v1
kind: Config
clusters:
- name: multi-mcp-test
  cluster:
    server: https://127.0.0.1:%d
    certificate-authority-data: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: multi-mcp-test
  context:
    cluster: multi-mcp-test
    user: %s
`, port, base64.StdEncoding.EncodeToString(caPEM), user, token, user)
	if namespace != "" {
		fmt.Fprintf(w, "    namespace: %s\n", namespace)
	}
	fmt.Fprintf(w, "current-context: multi-mcp-test\npreferences: {}\n")
	_ = w.Flush()
	return []byte(b.String())
}
