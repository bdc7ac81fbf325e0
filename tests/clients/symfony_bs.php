<?php
// symfony_bs.php - Symfony Mailer's SendmailTransport in its default -bs mode
// (it speaks SMTP to the command's stdin/stdout, one process for all the
// messages sent through one transport), driving outbox.  For
// tests/bs-clients.bats; uses Debian's php-symfony-mailer, nothing vendored.
//
// usage: php symfony_bs.php OUTBOX CONFIG STATUSFILE <MESSAGES.json
//   The command is "OUTBOX -C CONFIG -bs" (each path shell-quoted), as an
//   application would configure sendmail_path/the transport's command,
//   followed by "; echo $? >>STATUSFILE": Symfony reads no exit status in
//   -bs mode, so the shell records outbox's for the test (one line per
//   outbox process).
//   MESSAGES.json: [{"from": A, "to": [B, ...], "subject": S, "text": T}, ...]
//   all sent through ONE transport, in order (Symfony's Mailer without a
//   message bus does exactly $transport->send(); calling it directly gives
//   the SentMessage and so the Message-ID).
// Output (stdout), one line per message: "sent N <Message-ID>" or
// "failed N code=C <exception class>: <message>", then "outbox-exit S..."
// (the STATUSFILE's lines) once the transport has been stopped (QUIT sent,
// outbox gone).
// Exit: 0 all sent, 1 some failed, 2 usage or unexpected error.

require_once 'Symfony/Component/Mailer/autoload.php';

use Symfony\Component\Mailer\Exception\TransportExceptionInterface;
use Symfony\Component\Mailer\Transport\SendmailTransport;
use Symfony\Component\Mime\Email;

if ($argc !== 4) {
    fwrite(STDERR, "usage: php symfony_bs.php OUTBOX CONFIG STATUSFILE <MESSAGES.json\n");
    exit(2);
}
[, $outbox, $config, $statusFile] = $argv;
$messages = json_decode(stream_get_contents(STDIN), true, 16, JSON_THROW_ON_ERROR);

$command = escapeshellarg($outbox).' -C '.escapeshellarg($config).' -bs';
fwrite(STDERR, "command: $command\n");
$transport = new SendmailTransport($command.'; echo $? >>'.escapeshellarg($statusFile));

$failed = 0;
foreach ($messages as $i => $m) {
    $n = $i + 1;
    $email = (new Email())
        ->from($m['from'])
        ->to(...$m['to'])
        ->subject($m['subject'])
        ->text($m['text']);
    try {
        $sent = $transport->send($email);
        echo "sent $n ".$sent->getMessageId()."\n";
    } catch (TransportExceptionInterface $e) {
        $failed++;
        $text = preg_replace('/\s+/', ' ', $e->getMessage());
        echo "failed $n code=".$e->getCode().' '.get_class($e).": $text\n";
    }
}

// The transport sends QUIT and waits for outbox when it is destroyed.
unset($sent, $transport);
gc_collect_cycles();
$status = @file($statusFile, FILE_IGNORE_NEW_LINES);
echo 'outbox-exit '.($status === false ? 'none' : implode(' ', $status))."\n";
exit($failed ? 1 : 0);
