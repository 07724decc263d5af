"""`aidcal serve` (the bureau's server) and `aidcal login` (a school's or supervisor's CLI
pointed at it)."""
from __future__ import annotations

import sys

import click

from aidcal.i18n import _

from .shell import say


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on; behind the bureau's TLS proxy, keep the loopback default.")
@click.option("--port", type=click.IntRange(1, 65535), default=8790, show_default=True, help="The port to listen on.")
@click.option("--max-body-mb", type=click.IntRange(1, 2048), default=60, show_default=True,
              help="The largest request body (evidence uploads are base64, a third larger than the file).")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=60, show_default=True,
              help="Seconds a request may take; a write past it rolls back, so nothing is half done.")
@click.pass_obj
def serve(obj, host, port, max_body_mb, timeout):
    """Serve the database to the schools' and supervisors' CLIs (HTTP; put TLS in front: docs/deployment.md)."""
    import socket

    import uvicorn

    from aidcal.engine.errors import InputError
    from aidcal.server import create
    obj.engine  # noqa: B018 — a database with no plan is refused here, before listening
    app = create(obj.url, max_body_mb, timeout, keys=obj.keys)
    # Bound here, so that "serving" is said only of a port that is ours. IPPROTO_TCP spelled out: asyncio
    # turns Nagle off (TCP_NODELAY) only on sockets that say they are TCP, and with it on every
    # keep-alive answer waits for the client's delayed ACK (40 ms: a fifth of the requests served).
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
        listening.listen(2048)
    except OSError as exc:
        listening.close()
        raise InputError(_("cannot listen on {host}:{port}: {why} (another aidcal serve, or another program, may "
                           "hold it; choose another with --port)").format(host=host, port=port, why=exc.strerror or exc))
    say(_("aidcal serving {db} on http://{host}:{port}").format(db=obj.url.split("://")[0], host=host, port=port))
    uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_keep_alive=30)).run(sockets=[listening])


@click.command()
@click.option("--server", "url", required=True, help="The bureau's server, e.g. https://aid.example.gov.cn.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help="The bureau's own CA certificate (PEM).")
@click.option("--token-stdin", is_flag=True, help="Read the token from standard input instead of asking for it.")
def login(url, ca_file, token_stdin):
    """Keep the server's address and your token (asked for, never echoed) for your later commands."""
    from aidcal import client
    from aidcal.engine.errors import InputError
    url = client.check_address(url)
    if token_stdin or not sys.stdin.isatty():
        token = sys.stdin.readline().strip()
    else:
        token = click.prompt(_("token"), hide_input=True).strip()
    if not token.startswith("aidcal_"):
        raise InputError(_("that is not an aidcal token (it starts with aidcal_); ask the bureau for yours"))
    remote = client.Remote(url, token, ca_file)
    me = remote.call("whoami", {})
    path = client.save(url, token, ca_file)
    say(_("logged in to {url} as {name} ({role}, {scope}); kept in {file} (only you can read it)").format(
        url=url, name=me["name"], role=_(me["role"]), scope=me["scope"], file=path))
