export { checkCertificateBinding, mtlsBindingFromRequest } from './binding.js';
export { type MtlsPluginOptions, mtlsPlugin } from './plugin.js';
export { type CertificateInput, certificateThumbprint } from './thumbprint.js';
