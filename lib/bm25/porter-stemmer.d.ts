/** Types for porter-stemmer (Martin Porter's reference algorithm in JavaScript; the package ships none). */
declare module 'porter-stemmer' {
  export function stemmer(word: string): string;
}
