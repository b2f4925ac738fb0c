'use strict'
// The platform part of the addon's file name, as `napi build --platform`
// writes it: flockport.<suffix>.node (e.g. flockport.linux-x64-gnu.node).

function isMusl() {
  if (process.platform !== 'linux') return false
  try {
    const report = process.report.getReport()
    const header = typeof report === 'string' ? JSON.parse(report).header : report.header
    return !header.glibcVersionRuntime
  } catch {
    return false
  }
}

function platformSuffix() {
  const { platform, arch } = process
  switch (platform) {
    case 'linux':
      if (arch === 'arm') return `linux-arm-${isMusl() ? 'musleabihf' : 'gnueabihf'}`
      return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
    case 'win32':
      return `win32-${arch}-msvc`
    default:
      return `${platform}-${arch}`
  }
}

function addonFileName() {
  return `flockport.${platformSuffix()}.node`
}

module.exports = { platformSuffix, addonFileName }
