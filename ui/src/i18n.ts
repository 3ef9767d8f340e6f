// Every sentence the UI shows, in French and English. French is the reference:
// TypeScript refuses an English table that lacks one of its keys.

export type Lang = "fr" | "en";

const fr = {
  appName: "Estrade",
  tagline: "La classe virtuelle qui tient bon.",
  language: "Langue",
  french: "Français",
  english: "English",
  firstRunTitle: "Bienvenue dans Estrade",
  firstRunIntro: "Trois renseignements, une seule fois : ils seront gardés sur cet ordinateur.",
  serverLabel: "Adresse du serveur de classe de l'établissement",
  serverHint: "Elle commence par wss:// et vous est donnée par l'établissement.",
  nameLabel: "Votre nom",
  nameHint: "C'est le nom que la classe verra.",
  continue: "Continuer",
  joinTitle: "Rejoindre une classe",
  inviteLabel: "Lien ou code de la classe",
  inviteHint: "Collez le lien envoyé par l'enseignant, ou saisissez le code de la classe.",
  pinLabel: "Code PIN (si la classe en a un)",
  pinHint: "Laissez vide si un code PIN a déjà été enregistré pour cette classe.",
  rememberPin: "Retenir le code PIN dans le trousseau de clés de l'ordinateur",
  join: "Rejoindre",
  joining: "Connexion à la classe…",
  settings: "Réglages",
  settingsTitle: "Réglages",
  audioSource: "Son envoyé",
  audioTone: "Tonalité de test (440 Hz)",
  audioNone: "Aucun son",
  videoSource: "Image envoyée",
  videoPattern: "Mire de test animée",
  videoNone: "Aucune image",
  devicesLater: "Le micro et la caméra réels arriveront dans une prochaine version.",
  mediaNextJoin: "Les choix de son et d'image s'appliquent à la prochaine entrée en classe.",
  save: "Enregistrer",
  back: "Retour",
  saved: "Réglages enregistrés.",
  classTitle: "Classe {room}",
  participants: "Participants ({count})",
  you: "vous",
  microphoneOn: "Couper le micro",
  microphoneOff: "Activer le micro",
  cameraOn: "Couper la caméra",
  cameraOff: "Activer la caméra",
  leave: "Quitter la classe",
  statusConnecting: "Connexion à la classe…",
  statusConnected: "Connecté à la classe",
  statusPublishing: "En classe : votre son et votre image passent",
  statusLost: "Connexion perdue",
  rejoin: "Rejoindre à nouveau",
  noVideo: "Pas d'image",
  muted: "Micro coupé",
  cameraIsOff: "Caméra coupée",
  alone: "Personne d'autre n'est encore dans la classe.",
  pinned: "Épinglé",
  pinHelp: "Cliquez sur une vignette pour l'épingler au centre.",
  errorEmptyServer: "Saisissez l'adresse du serveur de classe.",
  errorServerScheme: "L'adresse du serveur doit commencer par wss:// (ou ws:// pour un serveur de test local).",
  errorEmptyName: "Saisissez votre nom : c'est celui que la classe verra.",
  errorUnexpected: "Une erreur inattendue est survenue. Réessayez ; si cela continue, redémarrez Estrade.",
  dismiss: "Fermer",
} as const;

export type Key = keyof typeof fr;

const en: Record<Key, string> = {
  appName: "Estrade",
  tagline: "The virtual classroom that holds up.",
  language: "Language",
  french: "Français",
  english: "English",
  firstRunTitle: "Welcome to Estrade",
  firstRunIntro: "Three details, once only: they are kept on this computer.",
  serverLabel: "Your school's classroom server address",
  serverHint: "It starts with wss:// and your school gives it to you.",
  nameLabel: "Your name",
  nameHint: "This is the name the class will see.",
  continue: "Continue",
  joinTitle: "Join a class",
  inviteLabel: "Class link or code",
  inviteHint: "Paste the link your teacher sent, or type the class code.",
  pinLabel: "PIN (if the class has one)",
  pinHint: "Leave empty if a PIN was already saved for this class.",
  rememberPin: "Remember the PIN in this computer's keychain",
  join: "Join",
  joining: "Joining the class…",
  settings: "Settings",
  settingsTitle: "Settings",
  audioSource: "Sound sent",
  audioTone: "Test tone (440 Hz)",
  audioNone: "No sound",
  videoSource: "Picture sent",
  videoPattern: "Moving test pattern",
  videoNone: "No picture",
  devicesLater: "The real microphone and camera come in a later version.",
  mediaNextJoin: "Sound and picture choices apply the next time you join a class.",
  save: "Save",
  back: "Back",
  saved: "Settings saved.",
  classTitle: "Class {room}",
  participants: "Participants ({count})",
  you: "you",
  microphoneOn: "Mute microphone",
  microphoneOff: "Unmute microphone",
  cameraOn: "Turn camera off",
  cameraOff: "Turn camera on",
  leave: "Leave class",
  statusConnecting: "Joining the class…",
  statusConnected: "Connected to the class",
  statusPublishing: "In class: your sound and picture are getting through",
  statusLost: "Connection lost",
  rejoin: "Join again",
  noVideo: "No picture",
  muted: "Microphone off",
  cameraIsOff: "Camera off",
  alone: "Nobody else is in the class yet.",
  pinned: "Pinned",
  pinHelp: "Click a tile to pin it in the middle.",
  errorEmptyServer: "Enter the classroom server address.",
  errorServerScheme: "The server address must start with wss:// (or ws:// for a local test server).",
  errorEmptyName: "Enter your name: it is what the class will see.",
  errorUnexpected: "Something unexpected went wrong. Try again; if it keeps happening, restart Estrade.",
  dismiss: "Close",
};

export const dictionaries: Record<Lang, Record<Key, string>> = { fr, en };

let current: Lang = "fr";

export function setLanguage(lang: Lang): void {
  current = lang;
  document.documentElement.lang = lang;
}

export function language(): Lang {
  return current;
}

/** The sentence for `key` in the current language, with `{name}` filled in. */
export function t(key: Key, vars: Record<string, string | number> = {}, lang: Lang = current): string {
  const text = dictionaries[lang][key] ?? `⟦${key}⟧`;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/** Picks the bilingual message's half in the current language. */
export function pick(message: { fr: string; en: string }, lang: Lang = current): string {
  return lang === "fr" ? message.fr : message.en;
}
