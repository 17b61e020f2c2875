#!/usr/bin/env bash
# Screenshots of the window's main pages for README.md (issue 18), made from the real program under Xvfb, so they
# can be made again after a change: scripts/screenshots.sh [OUT_DIR] (default docs/screenshots).
#
# The demo tenant signs in as Adele Vance by itself (--as); the "browser" is curl following the simulator's pages
# back to the wizard's loopback listener, as a browser whose account is already chosen would. Each page is reached
# by clicking the footer's primary button, which sits at the same place on every page (bottom right), then
# captured with ImageMagick's `import`. Needs Xvfb, xdotool and ImageMagick (apt-get install xvfb xdotool
# imagemagick) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-docs/screenshots}
mkdir -p "$out"
for tool in Xvfb xdotool import curl; do
  command -v "$tool" >/dev/null || { echo "screenshots: $tool is missing (apt-get install xvfb xdotool imagemagick curl)" >&2; exit 2; }
done
cargo build --locked --quiet
bin=$PWD/target/debug/mspbots-setup

work=$(mktemp -d)
trap 'kill ${app:-} ${xvfb:-} 2>/dev/null || true; rm -rf "$work"' EXIT
cat >"$work/browser.sh" <<'EOF'
#!/bin/sh
curl -s -L -o /dev/null "$1" &
EOF
chmod +x "$work/browser.sh"

width=980 height=680
display=:97
Xvfb "$display" -screen 0 "${width}x${height}x24" -nolisten tcp &
xvfb=$!
export DISPLAY=$display
sleep 1
MSPBOTS_SETUP_STATE_DIR="$work/state" BROWSER="$work/browser.sh" "$bin" --demo --as adele.vance@contoso.com &
app=$!

window() { xdotool search --sync --name "MSPbots Setup" | head -1; }
win=$(window)
xdotool windowmove "$win" 0 0 windowsize "$win" "$width" "$height"
sleep 3

# The footer's primary button: right-aligned, just above the status line.
primary() { xdotool mousemove $((width - 90)) $((height - 52)) click 1; }
shot() { sleep "${2:-2}"; import -window root "$out/$1.png"; echo "screenshots: $out/$1.png"; }

shot 01-welcome
primary                # Start
shot 02-sign-in 1
primary                # Sign in with Microsoft… (the demo pages sign in by themselves)
shot 03-admin-consent 4
primary                # Grant consent…
shot 04-verify 6
primary                # Continue: Teams app
shot 05-teams-app 4
primary                # Install MSPbots for me
shot 06-teams-app-installed 4
primary                # Continue: Global policy
shot 07-global-policy 3
primary                # Add to the Global policy
shot 08-global-policy-applied 8
primary                # Continue
shot 09-done 2

# The partner's board (For MSPs): a second run as the simulated partner's admin agent.
kill "$app" 2>/dev/null || true
sleep 1
MSPBOTS_SETUP_STATE_DIR="$work/state-partner" BROWSER="$work/browser.sh" "$bin" --demo --scenario msp-partner \
  --as lynne.robbins@northwindmsp.com &
app=$!
win=$(window)
xdotool windowmove "$win" 0 0 windowsize "$win" "$width" "$height"
sleep 3
# "Customers of a partner…", in the second of Welcome's two ways in (top right).
xdotool mousemove $((width - 207)) 237 click 1
sleep 1
primary                # Sign in to the partner tenant…
sleep 5
# Every customer checked in its own tenant, then Contoso (fourth row) selected: its findings and actions.
xdotool mousemove 225 178 click 1   # Check every customer's tenant
sleep 4
xdotool mousemove 163 302 click 1
shot 10-partner-board 1
# Contoso set up from the board, in its own tenant with the partner's account: on to the Teams step.
xdotool mousemove 190 490 click 1   # Set up Contoso (signed in there by the partner's sign-in, no browser)
sleep 6
primary                # Continue: Teams app
shot 11-customer-teams-app 4
