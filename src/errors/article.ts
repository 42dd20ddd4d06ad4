/**
 * "a" or "an" before a word in a message, by how it is said. A word starting with a vowel takes "an" ("an
 * EdDSA key", "an A256GCM key", "an unknown key"); so does an initialism whose first letter is named with a
 * vowel sound, F H L M N R S X ("an HS256 key", "an RSA key", "an rsa key", "an x25519 key"); everything else
 * takes "a" ("a PS256 key", "a secret key", "a mac token").
 */
export function withArticle(word: string): string {
  const initialism = /^[A-Z][A-Z0-9]/.test(word) || /^[b-df-hj-np-tv-z]{1,3}a?(?:[-\d]|$)/.test(word);
  const an = /^[aeiou]/i.test(word) || (initialism && /^[fhlmnrsx]/i.test(word));
  return `${an ? 'an' : 'a'} ${word}`;
}
