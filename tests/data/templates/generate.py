# ruff: noqa: E501  (hand-written log templates: one line each reads best)
"""Write the labelled multi-format template set (one JSONL per format) next to this file.

Every format is a list of hand-written templates, in the style of the public documentation
examples of each system (written for this set, not copied). A template writes each variable
part as ``<<kind>>``; a line is the template with every ``<<kind>>`` filled by a value drawn
from that kind's pool, and its true template is the same text with every ``<<kind>>`` written
``<*>``. Every template appears at least once; the rest of a format's lines are drawn by the
templates' weights (logs repeat a few events often and many rarely), then shuffled, since
real logs interleave their events. Seeded: running it again rewrites the same files.

Usage: ``.venv/bin/python tests/data/templates/generate.py``
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 14
FIELD = re.compile(r"<<(\w+)>>")

Pool = Callable[[random.Random], str]


def pick(*values: str) -> Pool:
    return lambda rng: rng.choice(values)


def num(low: int, high: int) -> Pool:
    return lambda rng: str(rng.randint(low, high))


def hexrun(length: int) -> Pool:
    return lambda rng: "".join(rng.choice("0123456789abcdef") for _ in range(length))


def _uuid(rng: random.Random) -> str:
    h = hexrun(32)(rng)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _ip(rng: random.Random) -> str:
    first = rng.choice((10, 172, 192, 203, 198))
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


_MONTHS = ("Jan", "Feb", "Mar", "Jun", "Jul", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _clock(rng: random.Random) -> str:
    return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"


def _syslog_ts(rng: random.Random) -> str:
    return f"{rng.choice(_MONTHS)} {rng.randint(1, 28):2d} {_clock(rng)}"


def _apache_ts(rng: random.Random) -> str:
    day = f"{rng.randint(1, 28):02d}/{rng.choice(_MONTHS)}/2024"
    return f"{day}:{_clock(rng)} {rng.choice(('+0000', '-0700', '+0200'))}"


def _apache_err_ts(rng: random.Random) -> str:
    return (
        f"{rng.choice(_DAYS)} {rng.choice(_MONTHS)} {rng.randint(1, 28):02d} "
        f"{_clock(rng)}.{rng.randint(0, 999999):06d} 2024"
    )


def _iso(rng: random.Random) -> str:
    return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{_clock(rng)}.{rng.randint(0, 999):03d}Z"


def _pg_ts(rng: random.Random) -> str:
    return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {_clock(rng)}.{rng.randint(0, 999):03d} UTC"


def _klog_head(rng: random.Random) -> str:
    return f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d} {_clock(rng)}.{rng.randint(0, 999999):06d}"


def _nginx_ts(rng: random.Random) -> str:
    return f"2024/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d} {_clock(rng)}"


def _hdfs_head(rng: random.Random) -> str:
    return f"0811{rng.randint(9, 11):02d} {rng.randint(0, 235959):06d} {rng.randint(1, 40000)}"


def _win_ts(rng: random.Random) -> str:
    return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {_clock(rng)},"


def _host(rng: random.Random) -> str:
    return rng.choice(("web", "db", "cache", "worker", "edge", "api")) + rng.choice(
        ("01", "02", "03", "-1", "-2", "-7", "12")
    )


def _fqdn(rng: random.Random) -> str:
    return rng.choice(
        (
            f"{_host(rng)}.prod.example.net",
            f"{_host(rng)}.internal",
            f"ip-10-0-{rng.randint(0, 255)}-{rng.randint(1, 254)}.ec2.internal",
            f"{rng.choice(('api', 'auth', 'billing', 'search'))}.example.com",
            f"{rng.choice(('orders', 'users', 'ledger'))}-svc.default.svc.cluster.local",
            "db-primary.corp.example.org",
        )
    )


def _hostport(rng: random.Random) -> str:
    return f"{_fqdn(rng)}:{rng.choice(('443', '5432', '6379', '8080', '9092', '3306'))}"


def _ipport(rng: random.Random) -> str:
    return f"{_ip(rng)}:{rng.randint(1024, 65535)}"


_SEGMENTS = ("api", "v1", "v2", "users", "orders", "items", "static", "img", "search", "cart")


def _urlpath(rng: random.Random) -> str:
    parts = [rng.choice(_SEGMENTS) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.5:
        parts.append(str(rng.randint(1, 99999)))
    path = "/" + "/".join(parts)
    if rng.random() < 0.3:
        path += f"?page={rng.randint(1, 40)}&sort={rng.choice(('asc', 'desc'))}"
    return path


def _request(rng: random.Random) -> str:
    method = rng.choice(("GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD"))
    return f"{method} {_urlpath(rng)} {rng.choice(('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0'))}"


def _url(rng: random.Random) -> str:
    return (
        f"https://{rng.choice(('api.example.com', 'auth.example.com', _fqdn(rng)))}{_urlpath(rng)}"
    )


def _unix_path(rng: random.Random) -> str:
    return rng.choice(
        (
            f"/var/www/html/{rng.choice(_SEGMENTS)}/{rng.choice(('index.php', 'favicon.ico', 'robots.txt', 'logo.png'))}",
            f"/usr/local/apache2/htdocs/{rng.choice(_SEGMENTS)}.html",
            f"/srv/data/{rng.choice(_SEGMENTS)}/part-{rng.randint(0, 999):05d}.parquet",
            f"/home/{rng.choice(('alice', 'bob', 'deploy'))}/.ssh/authorized_keys",
            f"/etc/app/{rng.choice(('config.yaml', 'secrets.env', 'limits.conf'))}",
        )
    )


def _win_path(rng: random.Random) -> str:
    return rng.choice(
        (
            rf"C:\Program Files\Contoso\Agent\{rng.choice(('agent.exe', 'core.dll', 'update.dll'))}",
            rf"C:\Program Files (x86)\Fabrikam Sync\bin\{rng.choice(('sync.exe', 'net.dll'))}",
            rf"C:\Users\{rng.choice(('alice', 'bob', 'svc_backup'))}\AppData\Local\Temp\{hexrun(8)(rng)}.tmp",
            rf"C:\Windows\System32\{rng.choice(('drivers', 'config', 'spool'))}\{rng.choice(('netio.sys', 'SYSTEM', 'tcpip.sys'))}",
            rf"D:\data\backups\{rng.randint(2020, 2024)}\db-{rng.randint(1, 31):02d}.bak",
        )
    )


def _user_agent(rng: random.Random) -> str:
    return rng.choice(
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Safari/537.36",
            "curl/8.5.0",
            "Go-http-client/1.1",
            "python-requests/2.31.0",
            "kube-probe/1.29",
        )
    )


def _java_class(rng: random.Random) -> str:
    return rng.choice(
        (
            "com.example.orders.OrderService",
            "com.example.billing.InvoiceRepository",
            "org.example.gateway.RouteFilter",
            "com.example.auth.TokenVerifier",
        )
    )


def _java_frame(rng: random.Random) -> str:
    cls = rng.choice(
        (
            "com.example.orders.OrderService",
            "com.example.billing.InvoiceRepository",
            "org.springframework.web.servlet.FrameworkServlet",
            "java.base/java.net.SocketInputStream",
            "org.apache.catalina.core.StandardWrapperValve",
            "com.zaxxer.hikari.pool.HikariPool",
        )
    )
    method = rng.choice(("invoke", "process", "getConnection", "read", "handle", "doFilter"))
    short = cls.rsplit(".", 1)[-1]
    return f"{cls}.{method}({short}.java:{rng.randint(20, 900)})"


POOLS: dict[str, Pool] = {
    "num": num(0, 9999),
    "small": num(1, 12),
    "big": num(10_000, 9_999_999),
    "pid": num(300, 65000),
    "port": num(1024, 65535),
    "status": pick(
        "200", "200", "200", "201", "204", "301", "304", "400", "403", "404", "500", "502", "503"
    ),
    "errstatus": pick("400", "403", "404", "408", "429", "500", "502", "503", "504"),
    "bytes": num(0, 500_000),
    "ms": num(1, 30_000),
    "frac": lambda rng: f"{rng.uniform(0, 30):.3f}",
    "dur": lambda rng: rng.choice(
        (
            f"{rng.randint(1, 999)}ms",
            f"{rng.uniform(0.1, 90):.1f}s",
            f"{rng.randint(1, 9)}m{rng.randint(0, 59)}s",
        )
    ),
    "uuid": _uuid,
    "hex8": hexrun(8),
    "hex12": hexrun(12),
    "hex16": hexrun(16),
    "ip": _ip,
    "ipport": _ipport,
    "host": _host,
    "fqdn": _fqdn,
    "hostport": _hostport,
    "user": pick(
        "alice",
        "bob",
        "carol",
        "dave",
        "root",
        "admin",
        "deploy",
        "postgres",
        "oracle",
        "test",
        "guest",
        "ubuntu",
    ),
    "syslog_ts": _syslog_ts,
    "apache_ts": _apache_ts,
    "apache_err_ts": _apache_err_ts,
    "iso": _iso,
    "pg_ts": _pg_ts,
    "klog_head": _klog_head,
    "nginx_ts": _nginx_ts,
    "hdfs_head": _hdfs_head,
    "win_ts": _win_ts,
    "urlpath": _urlpath,
    "request": _request,
    "url": _url,
    "path": _unix_path,
    "winpath": _win_path,
    "ua": _user_agent,
    "referer": lambda rng: rng.choice(
        ("-", "https://www.example.com/", f"https://shop.example.com{_urlpath(rng)}")
    ),
    "blk": lambda rng: f"blk_{rng.choice(('', '-'))}{rng.randint(10**17, 10**19)}",
    "pod": lambda rng: (
        f"{rng.choice(('web', 'api', 'worker', 'coredns'))}-{hexrun(9)(rng)}-{''.join(rng.choice('bcdfghjklmnpqrstvwxz2456789') for _ in range(5))}"
    ),
    "ns": pick("default", "kube-system", "payments", "monitoring"),
    "container": pick("app", "sidecar", "istio-proxy", "init-db", "metrics"),
    "image": lambda rng: (
        f"registry.example.com/{rng.choice(('shop/web', 'shop/api', 'infra/agent'))}:{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
    ),
    "volume": pick("data", "config", "kube-api-access-x7k2p", "secret-tls", "cache"),
    "table": pick("users", "orders", "invoices", "sessions", "line_items", "audit_log"),
    "column": pick("email", "user_id", "created_at", "status", "amount"),
    "constraint": pick("users_pkey", "users_email_key", "orders_user_id_fkey", "invoices_pkey"),
    "db": pick("shop", "analytics", "postgres", "billing"),
    "javaclass": _java_class,
    "frame": _java_frame,
    "more": num(3, 80),
    "aws_op": pick(
        "GetObject",
        "PutObject",
        "ListObjectsV2",
        "PutItem",
        "Query",
        "AssumeRole",
        "DescribeInstances",
        "SendMessage",
    ),
    "bucket": pick("shop-assets-prod", "logs-archive-eu", "ml-training-data", "backup-nightly"),
    "s3key": lambda rng: (
        f"{rng.choice(('exports', 'images', 'tmp'))}/{rng.randint(2020, 2024)}/{rng.randint(1, 12):02d}/{hexrun(10)(rng)}.json"
    ),
    "region": pick("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"),
    "account": num(100000000000, 999999999999),
    "role": pick("deploy-role", "ReadOnlyAccess", "lambda-exec", "ci-runner"),
    "gcp_project": pick("shop-prod-4412", "analytics-dev", "ml-sandbox-77"),
    "gcs_object": lambda rng: f"{rng.choice(('raw', 'staging', 'models'))}/{hexrun(12)(rng)}.avro",
    "haproxy_ts": lambda rng: (
        f"{rng.randint(1, 28):02d}/{rng.choice(_MONTHS)}/2024:{_clock(rng)}.{rng.randint(0, 999):03d}"
    ),
    "backend": pick("app", "static", "api_v2", "auth"),
    "server": pick("srv1", "srv2", "srv3", "web01", "web02"),
    "timers": lambda rng: "/".join(str(rng.randint(0, 400)) for _ in range(5)),
    "conns": lambda rng: "/".join(str(rng.randint(0, 60)) for _ in range(5)),
    "hs_word": pick("Left", "Right", "Nothing", "Just"),
    "hs_module": pick("Api.Handlers", "Db.Query", "Config.Load", "Main"),
    "hs_src": lambda rng: (
        f"src/{rng.choice(('Api/Handlers', 'Db/Query', 'Config/Load', 'Main'))}.hs:{rng.randint(10, 400)}:{rng.randint(1, 60)}-{rng.randint(61, 90)}"
    ),
    "sqlstate": pick("23505", "40001", "57014", "42P01"),
    "service": pick(
        "Windows Update",
        "Print Spooler",
        "Contoso Agent",
        "Background Intelligent Transfer Service",
    ),
    "hresult": lambda rng: rng.choice(
        ("0x80070005", "0x80070002", "0x800f081f", "0x80240022", "0x8007000e")
    ),
    "kb": lambda rng: f"KB{rng.randint(4000000, 5099999)}",
    "exe": pick("agent.exe", "sync.exe", "w3wp.exe", "svchost.exe", "chrome.exe"),
    "version": lambda rng: (
        f"{rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 30000)}.{rng.randint(0, 999)}"
    ),
    "sid": lambda rng: (
        f"S-1-5-21-{rng.randint(10**9, 4 * 10**9)}-{rng.randint(10**9, 4 * 10**9)}-{rng.randint(1000, 9999)}"
    ),
    "kv_user": lambda rng: f"user={rng.choice(('alice', 'bob', 'carol', 'svc-ci'))}",
    "errno_path": pick("/etc/app/config.yaml", "/var/run/app.sock", "/data/cache/index.db"),
}


def _hs_request(rng: random.Random) -> str:
    return (
        f'Request {{ host = "{_fqdn(rng)}" port = {rng.choice((443, 8080))} secure = True '
        f'method = "{rng.choice(("GET", "POST"))}" path = "{_urlpath(rng)}" }}'
    )


POOLS["hs_request"] = _hs_request

# (weight, template). Weights are relative within a format.
FORMATS: dict[str, tuple[int, list[tuple[int, str]]]] = {
    "syslog": (
        150,
        [
            (
                10,
                "<<syslog_ts>> <<host>> CRON[<<pid>>]: pam_unix(cron:session): session opened for user <<user>> by (uid=0)",
            ),
            (
                10,
                "<<syslog_ts>> <<host>> CRON[<<pid>>]: pam_unix(cron:session): session closed for user <<user>>",
            ),
            (6, "<<syslog_ts>> <<host>> CRON[<<pid>>]: (<<user>>) CMD (<<path>> --quiet)"),
            (5, "<<syslog_ts>> <<host>> systemd[1]: Started <<service_unit>>."),
            (
                5,
                "<<syslog_ts>> <<host>> systemd[1]: <<service_unit>>: Main process exited, code=exited, status=<<small>>/INVALIDARGUMENT",
            ),
            (
                3,
                "<<syslog_ts>> <<host>> systemd[1]: <<service_unit>>: Failed with result 'exit-code'.",
            ),
            (
                3,
                "<<syslog_ts>> <<host>> systemd[1]: <<service_unit>>: Scheduled restart job, restart counter is at <<small>>.",
            ),
            (
                4,
                "<<syslog_ts>> <<host>> kernel: [<<frac>>] Out of memory: Killed process <<pid>> (<<proc>>) total-vm:<<big>>kB, anon-rss:<<big>>kB, file-rss:<<num>>kB",
            ),
            (4, "<<syslog_ts>> <<host>> kernel: [<<frac>>] <<iface>>: Link is Down"),
            (
                3,
                "<<syslog_ts>> <<host>> kernel: [<<frac>>] <<iface>>: Link is Up - 1Gbps/Full - flow control rx/tx",
            ),
            (
                3,
                "<<syslog_ts>> <<host>> kernel: [<<frac>>] EXT4-fs error (device <<disk>>): ext4_find_entry:<<num>>: inode #<<big>>: comm <<proc>>: reading directory lblock 0",
            ),
            (
                4,
                "<<syslog_ts>> <<host>> su[<<pid>>]: pam_unix(su:auth): authentication failure; logname=<<user>> uid=<<num>> euid=0 tty=pts/<<small>> ruser=<<user>> rhost=  user=root",
            ),
            (2, "<<syslog_ts>> <<host>> dhclient[<<pid>>]: DHCPACK of <<ip>> from <<ip>>"),
            (2, "<<syslog_ts>> <<host>> ntpd[<<pid>>]: adjusting local clock by <<frac>>s"),
        ],
    ),
    "hdfs": (
        160,
        [
            (
                12,
                "<<hdfs_head>> INFO dfs.DataNode$PacketResponder: PacketResponder <<small>> for block <<blk>> terminating",
            ),
            (
                12,
                "<<hdfs_head>> INFO dfs.DataNode$PacketResponder: Received block <<blk>> of size <<big>> from /<<ip>>",
            ),
            (
                10,
                "<<hdfs_head>> INFO dfs.DataNode$DataXceiver: Receiving block <<blk>> src: /<<ipport>> dest: /<<ipport>>",
            ),
            (
                8,
                "<<hdfs_head>> INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: <<ipport>> is added to <<blk>> size <<big>>",
            ),
            (
                6,
                "<<hdfs_head>> INFO dfs.FSNamesystem: BLOCK* NameSystem.allocateBlock: /user/root/rand/_temporary/_task_<<hdfs_task>>/part-<<num>>. <<blk>>",
            ),
            (
                4,
                "<<hdfs_head>> INFO dfs.DataNode$DataXceiver: <<ipport>> Served block <<blk>> to /<<ip>>",
            ),
            (
                3,
                "<<hdfs_head>> WARN dfs.DataNode$DataXceiver: <<ipport>>:Got exception while serving <<blk>> to /<<ip>>:",
            ),
            (
                3,
                "<<hdfs_head>> INFO dfs.FSDataset: Deleting block <<blk>> file /mnt/hadoop/dfs/data/current/subdir<<small>>/<<blk>>",
            ),
            (3, "<<hdfs_head>> INFO dfs.FSNamesystem: BLOCK* ask <<ipport>> to delete  <<blk>>"),
            (2, "<<hdfs_head>> INFO dfs.DataBlockScanner: Verification succeeded for <<blk>>"),
            (
                2,
                "<<hdfs_head>> WARN dfs.PendingReplicationBlocks$PendingReplicationMonitor: PendingReplicationMonitor timed out block <<blk>>",
            ),
            (
                2,
                "<<hdfs_head>> INFO dfs.FSNamesystem: BLOCK* NameSystem.delete: <<blk>> is added to invalidSet of <<ipport>>",
            ),
        ],
    ),
    "apache_access": (
        120,
        [
            # Record-style lines: every field is variable, "-" included (an empty field).
            (
                12,
                '<<ip>> - <<dash_user>> [<<apache_ts>>] "<<request_or_dash>>" <<status>> <<bytes_or_dash>>',
            ),
            (
                10,
                '<<ip>> - <<dash_user>> [<<apache_ts>>] "<<request>>" <<status>> <<bytes>> "<<referer>>" "<<ua>>"',
            ),
            (
                6,
                '<<vhost>>:<<web_port>> <<ip>> - - [<<apache_ts>>] "<<request>>" <<status>> <<bytes>> "<<referer>>" "<<ua>>"',
            ),
            (
                4,
                '<<ip>> - <<dash_user>> [<<apache_ts>>] "<<request>>" <<status>> <<bytes>> <<big>>',
            ),
        ],
    ),
    "apache_error": (
        120,
        [
            (
                10,
                "[<<apache_err_ts>>] [core:error] [pid <<pid>>:tid <<big>>] [client <<ipport>>] AH00128: File does not exist: <<path>>",
            ),
            (
                6,
                "[<<apache_err_ts>>] [authz_core:error] [pid <<pid>>:tid <<big>>] [client <<ipport>>] AH01630: client denied by server configuration: <<path>>",
            ),
            (
                5,
                "[<<apache_err_ts>>] [proxy:error] [pid <<pid>>:tid <<big>>] (111)Connection refused: AH00957: HTTP: attempt to connect to <<ipport>> (<<fqdn>>) failed",
            ),
            (
                4,
                "[<<apache_err_ts>>] [proxy_http:error] [pid <<pid>>:tid <<big>>] (70007)The timeout specified has expired: [client <<ipport>>] AH01102: error reading status line from remote server <<fqdn>>:<<web_port>>",
            ),
            (
                4,
                "[<<apache_err_ts>>] [mpm_event:notice] [pid <<pid>>:tid <<big>>] AH00489: Apache/2.4.<<small>> (Unix) configured -- resuming normal operations",
            ),
            (
                3,
                "[<<apache_err_ts>>] [core:notice] [pid <<pid>>:tid <<big>>] AH00094: Command line: '/usr/sbin/httpd -D FOREGROUND'",
            ),
            (
                3,
                "[<<apache_err_ts>>] [ssl:warn] [pid <<pid>>:tid <<big>>] AH01909: <<fqdn>>:443:0 server certificate does NOT include an ID which matches the server name",
            ),
            (
                3,
                "[<<apache_err_ts>>] [php:error] [pid <<pid>>:tid <<big>>] [client <<ipport>>] PHP Fatal error:  Allowed memory size of <<big>> bytes exhausted (tried to allocate <<bytes>> bytes) in <<path>> on line <<num>>",
            ),
            (
                2,
                "[<<apache_err_ts>>] [mpm_event:error] [pid <<pid>>:tid <<big>>] AH00484: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting",
            ),
            (
                2,
                "[<<apache_err_ts>>] [core:error] [pid <<pid>>:tid <<big>>] [client <<ipport>>] AH00126: Invalid URI in request <<request>>",
            ),
        ],
    ),
    "nginx": (
        140,
        [
            (
                10,
                '<<nginx_ts>> [error] <<pid>>#<<pid>>: *<<big>> connect() failed (111: Connection refused) while connecting to upstream, client: <<ip>>, server: <<fqdn>>, request: "<<request>>", upstream: "http://<<ipport>><<urlpath>>", host: "<<fqdn>>"',
            ),
            (
                8,
                '<<nginx_ts>> [error] <<pid>>#<<pid>>: *<<big>> upstream timed out (110: Connection timed out) while reading response header from upstream, client: <<ip>>, server: <<fqdn>>, request: "<<request>>", upstream: "http://<<ipport>><<urlpath>>", host: "<<fqdn>>"',
            ),
            (
                6,
                '<<nginx_ts>> [error] <<pid>>#<<pid>>: *<<big>> open() "<<path>>" failed (2: No such file or directory), client: <<ip>>, server: <<fqdn>>, request: "<<request>>", host: "<<fqdn>>"',
            ),
            (
                4,
                '<<nginx_ts>> [warn] <<pid>>#<<pid>>: *<<big>> an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/<<small>>/<<num>>/<<big>> while reading upstream, client: <<ip>>, server: <<fqdn>>, request: "<<request>>", upstream: "http://<<ipport>><<urlpath>>", host: "<<fqdn>>"',
            ),
            (
                3,
                "<<nginx_ts>> [crit] <<pid>>#<<pid>>: *<<big>> SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share) while SSL handshaking, client: <<ip>>, server: 0.0.0.0:443",
            ),
            (3, "<<nginx_ts>> [notice] <<pid>>#<<pid>>: signal process started"),
            (
                3,
                "<<nginx_ts>> [emerg] <<pid>>#<<pid>>: bind() to 0.0.0.0:<<web_port>> failed (98: Address already in use)",
            ),
            (
                10,
                '<<ip>> - <<dash_user>> [<<apache_ts>>] "<<request>>" <<status>> <<bytes>> "<<referer>>" "<<ua>>" rt=<<frac>> uct="<<frac>>" uht="<<frac>>" urt="<<frac>>"',
            ),
            (4, '<<ip>> - - [<<apache_ts>>] "<<request>>" 499 0 "-" "<<ua>>"'),
        ],
    ),
    "openssh": (
        160,
        [
            (
                10,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: Invalid user <<user>> from <<ip>> port <<port>>",
            ),
            (
                10,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: Failed password for invalid user <<user>> from <<ip>> port <<port>> ssh2",
            ),
            (
                8,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: Failed password for <<user>> from <<ip>> port <<port>> ssh2",
            ),
            (
                6,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: Accepted publickey for <<user>> from <<ip>> port <<port>> ssh2: RSA SHA256:<<sshfp>>",
            ),
            (
                4,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: Accepted password for <<user>> from <<ip>> port <<port>> ssh2",
            ),
            (
                8,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: Received disconnect from <<ip>> port <<port>>:11: Bye Bye [preauth]",
            ),
            (
                6,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: Disconnected from invalid user <<user>> <<ip>> port <<port>> [preauth]",
            ),
            (
                5,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: Connection closed by authenticating user <<user>> <<ip>> port <<port>> [preauth]",
            ),
            (
                5,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=<<ip>>  user=<<user>>",
            ),
            (
                4,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: pam_unix(sshd:session): session opened for user <<user>> by (uid=0)",
            ),
            (
                3,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: error: maximum authentication attempts exceeded for <<user>> from <<ip>> port <<port>> ssh2 [preauth]",
            ),
            (
                3,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: Did not receive identification string from <<ip>> port <<port>>",
            ),
            (
                2,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: message repeated <<small>> times: [ Failed password for <<user>> from <<ip>> port <<port>> ssh2]",
            ),
            (
                2,
                "<<syslog_ts>> <<host>> sshd[<<pid>>]: reverse mapping checking getaddrinfo for <<fqdn>> [<<ip>>] failed - POSSIBLE BREAK-IN ATTEMPT!",
            ),
        ],
    ),
    "kubelet": (
        160,
        [
            (
                10,
                'E<<klog_head>>    <<pid>> pod_workers.go:1298] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"<<container>>\\" with CrashLoopBackOff: \\"back-off <<dur>> restarting failed container=<<container>> pod=<<pod>>_<<ns>>(<<uuid>>)\\"" pod="<<ns>>/<<pod>>" podUID="<<uuid>>"',
            ),
            (
                8,
                'I<<klog_head>>    <<pid>> kuberuntime_manager.go:1035] "Creating container in pod" containerType="container" container="<<container>>" pod="<<ns>>/<<pod>>"',
            ),
            (
                8,
                'E<<klog_head>>    <<pid>> remote_image.go:180] "PullImage from image service failed" err="rpc error: code = NotFound desc = failed to pull and unpack image \\"<<image>>\\": not found" image="<<image>>"',
            ),
            (
                6,
                'I<<klog_head>>    <<pid>> kubelet.go:2445] "SyncLoop (probe)" probe="readiness" status="<<probe_status>>" pod="<<ns>>/<<pod>>"',
            ),
            (
                6,
                'E<<klog_head>>    <<pid>> prober.go:104] "Probe errored" err="Get \\"http://<<ipport>>/healthz\\": dial tcp <<ipport>>: connect: connection refused" probeType="Liveness" pod="<<ns>>/<<pod>>" containerName="<<container>>"',
            ),
            (
                5,
                'I<<klog_head>>    <<pid>> reconciler_common.go:258] "operationExecutor.VerifyControllerAttachedVolume started for volume \\"<<volume>>\\" (UniqueName: \\"kubernetes.io/projected/<<uuid>>-<<volume>>\\") pod \\"<<pod>>\\" (UID: \\"<<uuid>>\\") " pod="<<ns>>/<<pod>>"',
            ),
            (
                4,
                'W<<klog_head>>    <<pid>> eviction_manager.go:370] "Eviction manager: attempting to reclaim" resourceName="memory"',
            ),
            (
                4,
                'I<<klog_head>>    <<pid>> eviction_manager.go:391] "Eviction manager: must evict pod(s) to reclaim" resourceName="<<resource>>"',
            ),
            (
                4,
                'E<<klog_head>>    <<pid>> kubelet_node_status.go:540] "Error updating node status, will retry" err="error getting node \\"<<node_name>>\\": Get \\"https://<<hostport>>/api/v1/nodes/<<node_name>>?timeout=10s\\": net/http: request canceled (Client.Timeout exceeded while awaiting headers)"',
            ),
            (
                3,
                'I<<klog_head>>    <<pid>> kubelet.go:2376] "SyncLoop DELETE" source="api" pods=["<<ns>>/<<pod>>"]',
            ),
            (
                3,
                'W<<klog_head>>    <<pid>> cni.go:333] "CNI failed to retrieve network namespace path" err="cannot find network namespace for the terminated container \\"<<hex16>>\\""',
            ),
        ],
    ),
    "postgres": (
        150,
        [
            (
                10,
                '<<pg_ts>> [<<pid>>] ERROR:  duplicate key value violates unique constraint "<<constraint>>"',
            ),
            (8, "<<pg_ts>> [<<pid>>] DETAIL:  Key (<<column>>)=(<<pgval>>) already exists."),
            (
                8,
                "<<pg_ts>> [<<pid>>] STATEMENT:  INSERT INTO <<table>> (<<column>>, <<column>>) VALUES ($1, $2)",
            ),
            (
                6,
                '<<pg_ts>> [<<pid>>] ERROR:  relation "<<table>>" does not exist at character <<num>>',
            ),
            (
                5,
                '<<pg_ts>> [<<pid>>] ERROR:  column "<<column>>" of relation "<<table>>" does not exist',
            ),
            (5, "<<pg_ts>> [<<pid>>] ERROR:  canceling statement due to statement timeout"),
            (5, "<<pg_ts>> [<<pid>>] ERROR:  deadlock detected"),
            (
                4,
                "<<pg_ts>> [<<pid>>] DETAIL:  Process <<pid>> waits for ShareLock on transaction <<big>>; blocked by process <<pid>>.",
            ),
            (5, '<<pg_ts>> [<<pid>>] FATAL:  password authentication failed for user "<<user>>"'),
            (4, '<<pg_ts>> [<<pid>>] FATAL:  database "<<db>>" does not exist'),
            (
                3,
                "<<pg_ts>> [<<pid>>] FATAL:  remaining connection slots are reserved for non-replication superuser connections",
            ),
            (
                4,
                "<<pg_ts>> [<<pid>>] LOG:  checkpoint complete: wrote <<num>> buffers (<<frac>>%); 0 WAL file(s) added, 0 removed, <<small>> recycled; write=<<frac>> s, sync=<<frac>> s, total=<<frac>> s",
            ),
            (
                4,
                "<<pg_ts>> [<<pid>>] LOG:  duration: <<frac>> ms  statement: SELECT * FROM <<table>> WHERE <<column>> = $1",
            ),
            (
                3,
                "<<pg_ts>> [<<pid>>] LOG:  could not receive data from client: Connection reset by peer",
            ),
            (2, "<<pg_ts>> [<<pid>>] ERROR:  could not serialize access due to concurrent update"),
        ],
    ),
    "java": (
        150,
        [
            (16, "\tat <<frame>>"),
            (6, "\t... <<more>> more"),
            (5, "java.net.SocketTimeoutException: Read timed out"),
            (5, "java.net.ConnectException: Connection refused (Connection refused)"),
            (4, "Caused by: java.net.UnknownHostException: <<fqdn>>: Name or service not known"),
            (
                5,
                'java.lang.NullPointerException: Cannot invoke "<<javatype>>.<<jmethod>>()" because "<<jvar>>" is null',
            ),
            (
                4,
                "java.lang.IllegalStateException: Order <<big>> is already in state <<order_state>>",
            ),
            (4, 'Exception in thread "<<thread>>" java.lang.OutOfMemoryError: Java heap space'),
            (
                4,
                "java.sql.SQLTransientConnectionException: HikariPool-<<small>> - Connection is not available, request timed out after <<ms>>ms.",
            ),
            (
                3,
                'Caused by: org.postgresql.util.PSQLException: ERROR: duplicate key value violates unique constraint "<<constraint>>"',
            ),
            (3, 'java.lang.NumberFormatException: For input string: "<<badnum>>"'),
            (
                3,
                "java.lang.ArrayIndexOutOfBoundsException: Index <<small>> out of bounds for length <<small>>",
            ),
            (
                3,
                "java.util.concurrent.TimeoutException: Waited <<ms>> milliseconds for <<javaclass>>",
            ),
            (
                2,
                "javax.net.ssl.SSLHandshakeException: PKIX path building failed: unable to find valid certification path to requested target",
            ),
            (2, "java.io.FileNotFoundException: <<path>> (No such file or directory)"),
        ],
    ),
    "haskell": (
        120,
        [
            (
                8,
                "<<hs_module>>: HttpExceptionRequest <<hs_request>> (ConnectionFailure Network.Socket.connect: <socket: <<small>>>: does not exist (Connection refused))",
            ),
            (6, "<<hs_module>>: HttpExceptionRequest <<hs_request>> ResponseTimeout"),
            (
                6,
                '<<hs_module>>: HttpExceptionRequest <<hs_request>> (StatusCodeException (Response {responseStatus = Status {statusCode = <<errstatus>>, statusMessage = "<<status_msg>>"}}) "")',
            ),
            (6, "<<errno_path>>: openFile: does not exist (No such file or directory)"),
            (4, "<<errno_path>>: openFile: permission denied (Permission denied)"),
            (6, "Prelude.head: empty list"),
            (4, "Maybe.fromJust: Nothing"),
            (5, "<<hs_src>>: Non-exhaustive patterns in function <<hs_fn>>"),
            (4, "user error (Pattern match failure in do expression at <<hs_src>>)"),
            (
                5,
                'SqlError {sqlState = "<<sqlstate>>", sqlExecStatus = FatalError, sqlErrorMsg = "<<sql_msg>>", sqlErrorDetail = "", sqlErrorHint = ""}',
            ),
            (4, "<stdout>: commitBuffer: resource vanished (Broken pipe)"),
            (3, "divide by zero"),
            (3, 'Error in $: key "<<column>>" not found'),
            (
                3,
                "Error in $.<<column>>: parsing Int failed, expected Number, but encountered String",
            ),
            (2, "thread blocked indefinitely in an MVar operation"),
            (2, "<<hs_src>>: Missing field in record construction <<hs_fn>>"),
        ],
    ),
    "proxy": (
        150,
        [
            (
                17,
                'haproxy[<<pid>>]: <<ipport>> [<<haproxy_ts>>] <<frontend>> <<backend>>/<<server_or_nosrv>> <<timers>> <<status>> <<bytes>> - - <<term_state>> <<conns>> 0/0 "<<request>>"',
            ),
            (
                5,
                "haproxy[<<pid>>]: Server <<backend>>/<<server>> is DOWN, reason: Layer4 timeout, check duration: <<ms>>ms. <<small>> active and 0 backup servers left. <<small>> sessions active, 0 requeued, 0 remaining in queue.",
            ),
            (
                4,
                "haproxy[<<pid>>]: Server <<backend>>/<<server>> is UP, reason: Layer7 check passed, code: 200, check duration: <<ms>>ms. <<small>> active and 0 backup servers online. 0 sessions requeued, 0 total in queue.",
            ),
            (3, "haproxy[<<pid>>]: backend <<backend>> has no server available!"),
            (
                3,
                "haproxy[<<pid>>]: <<ipport>> [<<haproxy_ts>>] <<frontend>>/1: SSL handshake failure",
            ),
            (
                21,
                '[<<iso>>] "<<request>>" <<status>> <<envoy_flags>> <<bytes>> <<bytes>> <<ms>> <<ms_or_dash>> "<<ip>>" "<<ua>>" "<<uuid>>" "<<fqdn>>" "<<ipport>>"',
            ),
            (
                3,
                "[<<iso>>][<<small>>][warning][config] [source/common/config/grpc_stream.h:<<num>>] StreamAggregatedResources gRPC config stream to xds_cluster closed: <<small>>, upstream connect error or disconnect/reset before headers. reset reason: connection timeout",
            ),
            (
                3,
                "[<<iso>>][<<small>>][info][upstream] [source/common/upstream/cluster_manager_impl.cc:<<num>>] cm init: all clusters initialized",
            ),
        ],
    ),
    "cloud_sdk": (
        140,
        [
            (
                8,
                "botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the <<aws_op>> operation: Access Denied",
            ),
            (
                6,
                "botocore.exceptions.ClientError: An error occurred (NoSuchKey) when calling the GetObject operation: The specified key does not exist.",
            ),
            (
                5,
                "botocore.exceptions.ClientError: An error occurred (NoSuchBucket) when calling the <<aws_op>> operation: The specified bucket does not exist",
            ),
            (
                6,
                "botocore.exceptions.ClientError: An error occurred (ThrottlingException) when calling the <<aws_op>> operation (reached max retries: <<small>>): Rate exceeded",
            ),
            (
                4,
                "botocore.exceptions.ClientError: An error occurred (ExpiredToken) when calling the <<aws_op>> operation: The security token included in the request is expired",
            ),
            (
                4,
                'botocore.exceptions.EndpointConnectionError: Could not connect to the endpoint URL: "https://<<aws_service>>.<<region>>.amazonaws.com/<<bucket>>/<<s3key>>"',
            ),
            (3, "botocore.exceptions.NoCredentialsError: Unable to locate credentials"),
            (
                3,
                "An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:sts::<<account>>:assumed-role/<<role>>/<<session>> is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::<<account>>:role/<<role>>",
            ),
            (
                3,
                "S3 upload of s3://<<bucket>>/<<s3key>> failed after <<small>> attempts: RequestTimeout",
            ),
            (
                6,
                "google.api_core.exceptions.NotFound: 404 GET https://storage.googleapis.com/storage/v1/b/<<bucket>>?projection=noAcl&prettyPrint=false: The specified bucket does not exist.",
            ),
            (
                5,
                "google.api_core.exceptions.Forbidden: 403 GET https://storage.googleapis.com/download/storage/v1/b/<<bucket>>/o/<<gcs_quoted>>?alt=media: <<sa>> does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).",
            ),
            (
                4,
                "google.api_core.exceptions.ServiceUnavailable: 503 failed to connect to all addresses; last error: UNAVAILABLE: ipv4:<<ipport>>: Socket closed",
            ),
            (4, "google.api_core.exceptions.DeadlineExceeded: 504 Deadline Exceeded"),
            (
                3,
                "google.api_core.exceptions.TooManyRequests: 429 Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'sheets.googleapis.com' for consumer 'project_number:<<account>>'.",
            ),
        ],
    ),
    "windows": (
        150,
        [
            (
                10,
                "<<win_ts>> Info                  CBS    Loaded Servicing Stack v<<version>> with Core: <<winpath>>",
            ),
            (
                8,
                "<<win_ts>> Info                  CSI    <<csi_id>> Warning: Unrecognized packageExtended attribute.",
            ),
            (
                6,
                "<<win_ts>> Info                  CBS    Session: <<cbs_session>> initialized by client WindowsUpdateAgent.",
            ),
            (
                6,
                "<<win_ts>> Error                 CBS    Failed to resolve package '<<cbs_package>>' [HRESULT = <<hresult>> - <<hresult_name>>]",
            ),
            (
                5,
                "<<win_ts>> Info                  CBS    Exec: Processing complete, session(Corruption Repairing): <<cbs_session>> [HRESULT = 0x00000000 - S_OK]",
            ),
            (6, "The <<service>> service entered the <<svc_state>> state."),
            (
                5,
                "The <<service>> service terminated unexpectedly.  It has done this <<small>> time(s).  The following corrective action will be taken in <<big>> milliseconds: Restart the service.",
            ),
            (
                5,
                "Faulting application name: <<exe>>, version: <<version>>, time stamp: 0x<<hex8>>; Faulting module name: <<dll>>, version: <<version>>; Exception code: 0xc0000005; Faulting application path: <<winpath>>",
            ),
            (
                5,
                "Installation Failure: Windows failed to install the following update with error <<hresult>>: <<kb_title>>.",
            ),
            (
                4,
                "An account failed to log on. Subject: Security ID: <<sid>> Account Name: <<user>> Failure Reason: Unknown user name or bad password. Source Network Address: <<ip>> Source Port: <<port>>",
            ),
            (4, "Access to the path '<<winpath>>' is denied."),
            (3, "The description for Event ID <<num>> from source <<exe>> cannot be found."),
        ],
    ),
    "http_clients": (
        140,
        [
            (8, 'Get "<<url>>": dial tcp <<ipport>>: connect: connection refused'),
            (
                6,
                'Post "<<url>>": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
            ),
            (5, 'Get "<<url>>": dial tcp: lookup <<fqdn>> on <<ip>>:53: no such host'),
            (5, "read tcp <<ipport>>-><<ipport>>: read: connection reset by peer"),
            (
                4,
                'Get "<<url>>": tls: failed to verify certificate: x509: certificate is valid for <<fqdn>>, not <<fqdn>>',
            ),
            (
                7,
                "HTTPSConnectionPool(host='<<fqdn>>', port=443): Max retries exceeded with url: <<urlpath>> (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x<<hex12>>>: Failed to establish a new connection: [Errno 111] Connection refused'))",
            ),
            (
                5,
                "HTTPSConnectionPool(host='<<fqdn>>', port=443): Read timed out. (read timeout=<<small>>)",
            ),
            (
                5,
                "requests.exceptions.HTTPError: <<errstatus>> Client Error: <<status_msg>> for url: <<url>>",
            ),
            (4, "httpx.ConnectTimeout: timed out"),
            (
                4,
                "aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host <<hostport>> ssl:default [Connect call failed ('<<ip>>', 443)]",
            ),
            (
                4,
                "curl: (28) Operation timed out after <<ms>> milliseconds with 0 out of 0 bytes received",
            ),
            (3, "curl: (6) Could not resolve host: <<fqdn>>"),
            (
                3,
                "upstream <<fqdn>> returned <<errstatus>> after <<dur>> (attempt <<small>>/5, request_id=<<uuid>>)",
            ),
            (
                3,
                "retrying <<url>> in <<dur>>: status=<<errstatus>> method=<<method>> bytes=<<bytes>> user=<<user>>",
            ),
        ],
    ),
}

POOLS.update(
    {
        "service_unit": pick(
            "nginx.service",
            "docker.service",
            "postgresql@14-main.service",
            "backup.service",
            "node-exporter.service",
        ),
        "proc": pick("java", "postgres", "python3", "node", "chrome"),
        "iface": pick("eth0", "eth1", "enp3s0", "ens5"),
        "disk": pick("sda1", "nvme0n1p2", "dm-0"),
        "hdfs_task": lambda rng: (
            f"200811092030_{rng.randint(1, 9):04d}_m_{rng.randint(0, 9999):06d}_0"
        ),
        "vhost": pick("www.example.com", "shop.example.com", "static.example.net"),
        "web_port": pick("80", "443", "8080", "8443"),
        "dash_user": pick("-", "-", "alice", "bob"),
        "sshfp": lambda rng: "".join(
            rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
            for _ in range(43)
        ),
        "probe_status": pick("ready", "", "not ready"),
        "resource": pick("memory", "ephemeral-storage", "nodefs"),
        "node_name": lambda rng: (
            f"ip-10-0-{rng.randint(0, 255)}-{rng.randint(1, 254)}.ec2.internal"
        ),
        "pgval": lambda rng: rng.choice(
            (str(rng.randint(1, 99999)), f"{rng.choice(('alice', 'bob', 'x'))}@example.com")
        ),
        "javatype": pick("String", "java.util.List", "com.example.orders.Order"),
        "jmethod": pick("length", "size", "getId", "isEmpty"),
        "jvar": pick("name", "order", "this.items", "<local4>"),
        "order_state": pick("SHIPPED", "CANCELLED", "PAID"),
        "thread": lambda rng: rng.choice(
            (
                "main",
                f"pool-{rng.randint(1, 9)}-thread-{rng.randint(1, 40)}",
                f"http-nio-8080-exec-{rng.randint(1, 200)}",
            )
        ),
        "badnum": pick("abc", "12x", "", "NaN", "4.5e"),
        "status_msg": pick(
            "Not Found", "Forbidden", "Bad Request", "Service Unavailable", "Too Many Requests"
        ),
        "hs_fn": pick("toStatus", "decodeEvent", "render", "stepNode"),
        "sql_msg": pick(
            "duplicate key value violates unique constraint",
            "could not serialize access",
            "canceling statement due to statement timeout",
            "relation does not exist",
        ),
        "frontend": pick("http-in", "https-in", "fe_api"),
        "aws_service": pick("s3", "dynamodb", "sqs"),
        "session": lambda rng: f"botocore-session-{rng.randint(10**9, 2 * 10**9)}",
        "gcs_quoted": lambda rng: f"{rng.choice(('raw', 'staging'))}%2F{hexrun(12)(rng)}.avro",
        "sa": lambda rng: (
            f"{rng.choice(('etl', 'reader', 'default'))}@{rng.choice(('shop-prod-4412', 'analytics-dev'))}.iam.gserviceaccount.com"
        ),
        "csi_id": lambda rng: f"{rng.randint(1, 9999):08x}",
        "cbs_session": lambda rng: (
            f"{rng.randint(30000000, 30999999)}_{rng.randint(10**9, 4 * 10**9)}"
        ),
        "cbs_package": lambda rng: (
            f"Package_{rng.randint(1, 900)}_for_{POOLS['kb'](rng)}~31bf3856ad364e35~amd64~~{rng.randint(6, 10)}.{rng.randint(0, 3)}.1.{rng.randint(1, 30)}"
        ),
        "hresult_name": pick("CBS_E_INVALID_PACKAGE", "ERROR_FILE_NOT_FOUND", "E_ACCESSDENIED"),
        "svc_state": pick("running", "stopped"),
        "dll": pick("ntdll.dll", "KERNELBASE.dll", "ucrtbase.dll", "clr.dll"),
        "kb_title": lambda rng: (
            f"{rng.choice(('2024-06 Cumulative Update for Windows 11 Version 23H2 for x64-based Systems', 'Security Intelligence Update for Microsoft Defender Antivirus', 'Update for Windows Security platform'))} ({POOLS['kb'](rng)})"
        ),
        "method": pick("GET", "POST", "PUT"),
        "request_or_dash": lambda rng: "-" if rng.random() < 0.1 else _request(rng),
        "bytes_or_dash": lambda rng: "-" if rng.random() < 0.15 else str(rng.randint(0, 500_000)),
        "server_or_nosrv": lambda rng: "<NOSRV>" if rng.random() < 0.2 else POOLS["server"](rng),
        "term_state": pick("----", "----", "----", "SC--", "CD--", "sH--"),
        "envoy_flags": pick("-", "-", "-", "UF,URX", "UT", "NR"),
        "ms_or_dash": lambda rng: "-" if rng.random() < 0.2 else str(rng.randint(1, 3000)),
    }
)


def fill(template: str, rng: random.Random) -> str:
    return FIELD.sub(lambda m: POOLS[m.group(1)](rng), template)


def true_template(template: str) -> str:
    return FIELD.sub("<*>", template)


def generate(name: str, count: int, templates: list[tuple[int, str]]) -> list[dict[str, str]]:
    rng = random.Random(f"{SEED}:{name}")
    chosen = [text for _, text in templates]
    weights = [weight for weight, _ in templates]
    chosen += rng.choices(chosen, weights=weights, k=count - len(chosen))
    rng.shuffle(chosen)
    return [{"line": fill(text, rng), "template": true_template(text)} for text in chosen]


def main() -> None:
    for name, (count, templates) in FORMATS.items():
        rows = generate(name, count, templates)
        with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
