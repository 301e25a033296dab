#!/usr/bin/env pwsh
# FasterNet.NET build driver (PowerShell 7): the same commands as build.sh.
#
#   ./build.ps1            build everything (native Release, bindings check, managed, CLI)
#   ./build.ps1 run        build, then the main job: classify the sample images, short benchmark
#   ./build.ps1 test       build, then every test (CTest + NUnit); ends with "N passed, N failed"
#   ./build.ps1 arm64 | test-arm64 | bindings
#   ./build.ps1 win-x64 | test-win-x64 | test-managed-arm64 | test-old-cpus | pack | cli | test-cli | test-package
#   ./build.ps1 deploy-check | serving-client-check | test-sanitize | bench-torch-bf16
#       (cross builds and emulators: mingw-w64, qemu, wine64 from Debian; they run build.sh's implementation)
param([ValidateSet('build', 'run', 'test', 'arm64', 'test-arm64', 'test-managed-arm64', 'bindings', 'win-x64', 'test-win-x64',
    'test-old-cpus', 'pack', 'cli', 'test-cli', 'test-package', 'deploy-check', 'serving-client-check', 'test-sanitize', 'bench-torch-bf16')][string]$Command = 'build')

$ErrorActionPreference = 'Stop'
$Root = $PSScriptRoot
Set-Location $Root
$Config = 'Release'
$NativeBuild = Join-Path $Root 'build/native'
$Arch = if ([System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture -eq [System.Runtime.InteropServices.Architecture]::Arm64) { "arm64" } else { "x64" }
$Rid = if ($IsWindows) { "win-$Arch" } elseif ($IsMacOS) { "osx-$Arch" } else { "linux-$Arch" }
$NativeOut = Join-Path $Root "artifacts/native/$Rid"
$Bin = Join-Path $Root 'artifacts/bin'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'
$Jobs = [Environment]::ProcessorCount

function Log([string]$Message) { Write-Host "`n== $Message" }

function Invoke-Checked([string]$File, [string[]]$Arguments) {
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

# Installs missing Debian packages (Linux only; elsewhere the tools must be on PATH).
function Install-AptPackages([string[]]$Packages) {
    if (-not $IsLinux -or -not (Get-Command dpkg-query -ErrorAction SilentlyContinue)) { return }
    $missing = @($Packages | Where-Object { (& dpkg-query -W -f='${Status}' $_ 2>$null) -notmatch 'install ok installed' })
    if ($missing.Count -eq 0) { return }
    Log "installing Debian packages: $($missing -join ' ')"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    $asRoot = (& id -u) -eq '0'
    foreach ($step in @(@('update', '-qq'), (@('install', '-y', '-qq', '--no-install-recommends') + $missing))) {
        if ($asRoot) { Invoke-Checked apt-get $step } else { Invoke-Checked sudo (@('apt-get') + $step) }
    }
}

function Build-Native {
    Install-AptPackages @('cmake', 'g++', 'make', 'libgtest-dev', 'libbenchmark-dev', 'libclang-common-14-dev', 'dataset-fashion-mnist', 'fonts-dejavu-core')
    Log 'native library (Release)'
    Invoke-Checked cmake @('-S', $Root, '-B', $NativeBuild, '-DCMAKE_BUILD_TYPE=Release')
    Invoke-Checked cmake @('--build', $NativeBuild, "-j$Jobs")
    New-Item -ItemType Directory -Force -Path $NativeOut | Out-Null
    $library = if ($IsWindows) { 'libfasternet.dll' } else { 'libfasternet.so' }
    Copy-Item (Join-Path $NativeBuild "native/$library") (Join-Path $NativeOut $library) -Force
}

function Test-Bindings {
    Log 'bindings: regenerate and compare with the committed file'
    Invoke-Checked dotnet @('run', '-c', $Config, '--project', 'bindings/FasterNet.Bindings.Generator', '--',
        '--header', 'native/include/fasternet.h', '--output', 'bindings/generated/NativeMethods.g.cs', '--check')
}

function Build-Managed {
    Log 'managed build'
    Invoke-Checked dotnet @('build', 'FasterNet.sln', '-c', $Config, '-nologo', '-v', 'quiet')
    Log 'CLI -> artifacts/bin/fasternet'
    Invoke-Checked dotnet @('publish', 'managed/FasterNet.Cli/FasterNet.Cli.csproj', '-c', $Config, '-o', $Bin, '-nologo', '-v', 'quiet', '--no-build')
}

function Build-All { Build-Native; Test-Bindings; Build-Managed }

function Invoke-Tests {
    $passed = 0; $failed = 0; $ok = $true
    Log 'native tests (CTest)'
    $ctestLog = & ctest --test-dir $NativeBuild --output-on-failure "-j$Jobs" 2>&1
    $ctestLog | ForEach-Object { Write-Host $_ }
    if ($LASTEXITCODE -ne 0) { $ok = $false }
    $summary = $ctestLog | Select-String -Pattern '(\d+) tests failed out of (\d+)' | Select-Object -Last 1
    if ($summary) {
        $f = [int]$summary.Matches[0].Groups[1].Value; $t = [int]$summary.Matches[0].Groups[2].Value
        $failed += $f; $passed += $t - $f
    } else { Write-Host 'CTest printed no summary'; $ok = $false }

    Log 'managed tests (NUnit)'
    $trxDir = Join-Path $Root 'build/test-results'
    Remove-Item -Recurse -Force $trxDir -ErrorAction SilentlyContinue
    & dotnet test 'tests/FasterNet.Tests/FasterNet.Tests.csproj' -c $Config --no-build -nologo --logger 'trx;LogFileName=results.trx' --results-directory $trxDir
    if ($LASTEXITCODE -ne 0) { $ok = $false }
    $trx = Join-Path $trxDir 'results.trx'
    if (Test-Path $trx) {
        $counters = ([xml](Get-Content $trx -Raw)).TestRun.ResultSummary.Counters
        $passed += [int]$counters.passed; $failed += [int]$counters.failed
    } else { Write-Host 'NUnit wrote no results'; $ok = $false }
    Write-Host ''
    Write-Host "$passed passed, $failed failed"
    if (-not $ok -or $failed -ne 0) { exit 1 }
}

function Invoke-MainJob {
    $cli = Join-Path $Bin 'fasternet'
    Log 'classify the sample images with the built-in Fashion-MNIST model'
    Invoke-Checked $cli @('classify', (Join-Path $Root 'samples/fashion-mnist'), '--top', '3')
    Log 'benchmark: FasterNet-T0, batch 1, 224x224, side by side with ONNX Runtime'
    Invoke-Checked $cli @('bench', '--model', 't0', '--batch', '1', '--threads', '1', '--iterations', '30', '--peer', 'onnxruntime')
}

switch ($Command) {
    'build' { Build-All }
    'run' { Build-All; Invoke-MainJob }
    'test' { Build-All; Invoke-Tests }
    'bindings' {
        Invoke-Checked dotnet @('run', '-c', $Config, '--project', 'bindings/FasterNet.Bindings.Generator', '--',
            '--header', 'native/include/fasternet.h', '--output', 'bindings/generated/NativeMethods.g.cs')
    }
    { $_ -in 'arm64', 'test-arm64', 'test-managed-arm64', 'win-x64', 'test-win-x64', 'test-old-cpus', 'pack', 'cli', 'test-cli',
          'test-package', 'deploy-check', 'serving-client-check', 'test-sanitize', 'bench-torch-bf16' } {
        # These cross-build and run under qemu / wine64, which only a Debian host has: one implementation, build.sh's.
        if (-not $IsLinux) { throw "./build.ps1 $Command needs a Debian host (mingw-w64, qemu-user, wine64)" }
        Invoke-Checked bash @((Join-Path $Root 'build.sh'), $Command)
    }
}
