"""A TCP proxy the reliability suite controls, put between one agent and the broker to cut
and stall the network without network namespaces.

    p = Proxy(("127.0.0.1", broker_port)).start()   # its own thread and asyncio loop
    p.port                  # point the agent's broker/endpoint at tcp://127.0.0.1:p.port
    p.stall()               # stop forwarding, keep every connection open (a black hole:
                            # what a dead route or a hung middlebox looks like to TCP)
    p.cut()                 # reset every connection and stop listening: new ones are
                            # refused, as by a host that is down
    p.heal()                # forward again (stalled bytes are delivered; after a cut, it
                            # listens again on the same port)
    p.close()

While stalled, bytes that arrive are held, not dropped: TCP already acknowledged them, so
dropping them would corrupt the stream rather than imitate a network. The proxy reads at
most 64 KiB a side into its hold and then stops reading, so the senders' kernel buffers
fill as they would behind a dead link.
"""
import asyncio
import threading

HOLD_MAX = 64 * 1024


class _Pipe:
    """One direction of one connection."""

    def __init__(self, proxy, reader, writer):
        self.proxy, self.reader, self.writer = proxy, reader, writer
        self.held = bytearray()

    async def run(self):
        try:
            while True:
                if self.proxy.mode == "stall":
                    if len(self.held) < HOLD_MAX:
                        # read into the hold, but wake up on heal or cut
                        chunk = await self._read_or_wake(HOLD_MAX - len(self.held))
                        if chunk is None:
                            continue
                        if not chunk:
                            break
                        self.held += chunk
                    else:
                        await self.proxy.changed_wait()
                    continue
                if self.held:
                    self.writer.write(bytes(self.held))
                    self.held.clear()
                    await self.writer.drain()
                chunk = await self._read_or_wake(65536)
                if chunk is None:
                    continue
                if not chunk:
                    break
                self.writer.write(chunk)
                await self.writer.drain()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            self.writer.close()

    async def _read_or_wake(self, n):
        """Reads up to n bytes; None when the proxy's mode changed first."""
        read = asyncio.ensure_future(self.reader.read(n))
        wake = asyncio.ensure_future(self.proxy.changed_wait())
        done, _ = await asyncio.wait({read, wake}, return_when=asyncio.FIRST_COMPLETED)
        if read in done:
            wake.cancel()
            return read.result()
        # keep the pending read: reading again would lose what it returns
        chunk = await read if read.done() else None
        if chunk is None:
            read.cancel()
            try:
                await read
            except asyncio.CancelledError:
                pass
        return chunk


class Proxy:
    def __init__(self, upstream, listen=("127.0.0.1", 0)):
        self.upstream, self.listen_addr = upstream, listen
        self.mode = "forward"
        self.port = None
        self.accepted = 0       # connections accepted (an agent's reconnects show here)
        self._conns = set()
        self._loop = None
        self._changed = None
        self._thread = None
        self._ready = threading.Event()

    # ---- control, from any thread
    def start(self):
        self._thread = threading.Thread(target=self._main, name="proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the proxy did not start")
        return self

    def stall(self):
        self._call(self._set_mode("stall"))

    def cut(self):
        self._call(self._set_mode("cut"))

    def heal(self):
        self._call(self._set_mode("forward"))

    def close(self):
        if self._loop is not None and self._thread.is_alive():
            self._call(self._shutdown())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def _call(self, coro):
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # ---- the loop's side
    def _main(self):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._changed = asyncio.Event()
        self._server = None
        self._loop.run_until_complete(self._listen())
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _listen(self):
        addr = (self.listen_addr[0], self.port if self.port else self.listen_addr[1])
        self._server = await asyncio.start_server(self._accept, *addr, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _set_mode(self, mode):
        was, self.mode = self.mode, mode
        if mode == "cut":
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
                self._server = None
            for w in list(self._conns):
                w.transport.abort()         # an RST, as from a host that lost its state
            self._conns.clear()
        elif was == "cut":
            await self._listen()
        # wake every pipe waiting on the old mode
        self._changed.set()
        self._changed = asyncio.Event()

    async def _shutdown(self):
        await self._set_mode("cut")
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def changed_wait(self):
        await self._changed.wait()

    async def _accept(self, reader, writer):
        self.accepted += 1
        try:
            ur, uw = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._conns.update((writer, uw))
        a = _Pipe(self, reader, uw)
        b = _Pipe(self, ur, writer)
        await asyncio.gather(a.run(), b.run(), return_exceptions=True)
        self._conns.discard(writer)
        self._conns.discard(uw)
