# wine64 helpers shared by the win-x64 scripts (sourced, not run).
# Wine runs in its own prefix under build/ (created once, about 20 s), quietly, with no display.

WINE64="$(command -v wine64 || echo /usr/lib/wine/wine64)"
export WINEPREFIX="${FASTERNET_WINEPREFIX:-$ROOT/build/wine-prefix}"
# No debugger on a crash (it would wait, and the process would report success).
export WINEDEBUG=-all WINEDLLOVERRIDES="winemenubuilder.exe=d;winedbg.exe=d"
unset DISPLAY
# .NET 10 under wine 8: with W^X on, freeing a dynamic method's code dies with "Internal CLR error
# (0x80131506)" in DynamicResolver's finalizer; off, it runs.
export DOTNET_EnableWriteXorExecute=0

wine_prefix_init() {
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    log "wine prefix $WINEPREFIX (once)"
    mkdir -p "$WINEPREFIX"
    "$WINE64" wineboot --init >/dev/null 2>&1 || true
    wineserver_wait
  fi
}

wineserver_wait() { "$(dirname "$WINE64")/wineserver" -w 2>/dev/null || true; }

wine_run() { "$WINE64" "$@"; }

# A Linux path as Wine sees it (drive Z: is /).
winpath() { printf 'Z:%s' "${1//\//\\}"; }
