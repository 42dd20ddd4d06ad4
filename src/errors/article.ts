/**
 * "a" or "an" before a word in a message, by how it is said: algorithm and key-type names are read letter by
 * letter or as words starting with a vowel sound ("an A256GCM key", "an EdDSA key", "an HS256 key", "an RSA
 * key", "an unknown key"), others not ("a PS256 key", "a dsa key").
 */
export function withArticle(word: string): string {
  return `${/^[aefhilmnorsxu]/i.test(word) ? 'an' : 'a'} ${word}`;
}
